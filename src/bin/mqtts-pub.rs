//! mqtts-pub: a drop-in replacement for mosquitto_pub. See mqtts-pub(1).

fn main() {
    mqtts::cli::main(mqtts::options::Client::Pub)
}
