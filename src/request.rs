//! mqtts-rr's run: mosquitto_rr is mosquitto_sub with one subscription (the response
//! topic, `-e`), one message to print and a request to publish once the SUBACK arrived.
//! So mqtts-rr is mqtts-sub's run loop ([`crate::subscribe`]) given a [`Request`]; this
//! module holds only what differs.
//!
//! What mosquitto_rr 2.0.20 does, and so mqtts-rr:
//! * CONNECT (MQTT v5 unless `-V` says otherwise; receive maximum 1), SUBSCRIBE to `-e`
//!   (subscription options 0 whatever `-R`/`--retain-as-published` say), and on a granted
//!   SUBACK PUBLISH the message to `-t` with the Response Topic property (and the `-D
//!   publish` properties) on MQTT v5, without properties on MQTT 3.x;
//! * print the first message on `-e` as mosquitto_sub prints it (`-F`, `-N`, `-v`,
//!   `--pretty`; `-R` drops retained ones) and end with 0 without a DISCONNECT;
//! * a refused SUBACK: its reason string on stderr, DISCONNECT, 0;
//! * a refused CONNACK: `Connection error: <reason string>` (132 adds a sentence), the
//!   code; `-W`: DISCONNECT with reason 4, `Timed out`, 27; no reconnection; SIGINT and
//!   SIGTERM end the process as their default action does.
//!
//! # Differences from mosquitto_rr 2.0.20
//!
//! * `-f FILE` and `-s` send the file's / stdin's contents; mosquitto_rr never reads them
//!   and sends an empty request.

use crate::connection::exit_now;
use crate::exit::{self, Failure};
use crate::options::{MessageSource, Options};
use crate::plan::{self, Plan};
use paho_mqtt as mqtt;

/// The request mqtts-rr publishes once subscribed to the response topic.
pub struct Request {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: u8,
    /// `-D publish …` plus the Response Topic (used on MQTT v5 only).
    pub properties: mqtt::Properties,
}

impl Request {
    /// The request for `opts` (an rr command line), its message read before connecting.
    pub fn new(opts: &Options) -> Result<Request, Failure> {
        let source = opts.message.clone().unwrap_or(MessageSource::Null);
        let payload = crate::publish::load(&source)?;
        let mut properties = plan::properties(opts, "publish")?;
        let response = opts.response_topic.clone().unwrap_or_default();
        let failed = |_| Failure::new(exit::GENERAL, "Error adding property RESPONSE_TOPIC.");
        let prop = mqtt::Property::new_string(mqtt::PropertyCode::ResponseTopic, &response)
            .map_err(failed)?;
        properties.push(prop).map_err(failed)?;
        Ok(Request {
            topic: opts.topics.first().cloned().unwrap_or_default(),
            payload,
            qos: opts.qos,
            properties,
        })
    }

    /// The PUBLISH (properties only on MQTT v5, as mosquitto_rr).
    pub fn message(&self, plan: &Plan) -> mqtt::Message {
        let mut m = mqtt::MessageBuilder::new()
            .topic(self.topic.as_str())
            .payload(self.payload.clone())
            .qos(self.qos as i32);
        if plan.is_v5() {
            m = m.properties(self.properties.clone());
        }
        m.finalize()
    }
}

/// Run mqtts-rr with parsed options; returns only through `exit_now`.
pub fn run(opts: &Options) -> ! {
    let request = match Request::new(opts) {
        Ok(r) => r,
        Err(f) => {
            f.report(opts.quiet);
            exit_now(f.code)
        }
    };
    crate::subscribe::run_with(&subscriber(opts), Some(request))
}

/// The options as mqtts-sub's run reads them: the one filter is the response topic.
pub fn subscriber(opts: &Options) -> Options {
    let mut o = opts.clone();
    o.topics = opts.response_topic.iter().cloned().collect();
    o.count = Some(1);
    o
}

/// mosquitto_rr's words for a refused CONNACK (it names v3.x codes by the v5 table too).
pub fn refused(f: Failure) -> Failure {
    let refusal = f
        .lines
        .first()
        .is_some_and(|l| l.starts_with("Connection error: "));
    if !refusal || !(1..=255).contains(&f.code) {
        return f;
    }
    let rc = f.code as u8;
    let mut line = format!("Connection error: {}", exit::reason_string(rc));
    if rc == 132 {
        line.push_str(". mosquitto_rr only supports connecting to an MQTT v5 broker");
    }
    Failure::new(f.code, line)
}
