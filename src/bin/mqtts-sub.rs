//! mqtts-sub: a drop-in replacement for mosquitto_sub. See mqtts-sub(1).

fn main() {
    mqtts::cli::main(mqtts::options::Client::Sub)
}
