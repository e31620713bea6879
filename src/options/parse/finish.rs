//! mosquitto's checks after all options are read, and conversion to [`Options`].

use super::*;

impl State {
    /// mosquitto's checks after all options are read (client_config_load, then the
    /// programs' main), in its order, and conversion to [`Options`].
    pub(super) fn finish(mut self) -> Result<Options, UsageError> {
        if self.will_payload.is_some() && self.will_topic.is_none() {
            return Err(err("Error: Will payload given, but no will topic given.\n"));
        }
        if self.will_retain && self.will_topic.is_none() {
            return Err(err("Error: Will retain given, but no will topic given.\n"));
        }
        let t = &self.tls;
        if t.cert.is_some() != t.key.is_some() {
            return Err(err(
                "Error: Both certfile and keyfile must be provided if one of them is set.\n",
            ));
        }
        if t.keyform.is_some() && t.key.is_none() {
            return Err(err(
                "Error: If keyform is set, keyfile must be also specified.\n",
            ));
        }
        if t.tls_engine_kpass_sha1.is_some() && (t.keyform.is_none() || t.tls_engine.is_none()) {
            return Err(err(
                "Error: when using tls-engine-kpass-sha1, both tls-engine and keyform must also be provided.\n",
            ));
        }
        if (t.cafile.is_some() || t.capath.is_some()) && t.psk.is_some() {
            return Err(err(
                "Error: Only one of --psk or --cafile/--capath may be used at once.\n",
            ));
        }
        if t.psk.is_some() && t.psk_identity.is_none() {
            return Err(err("Error: --psk-identity required if --psk used.\n"));
        }
        let no_id = self.id_prefix.is_some() || self.id.is_none();
        // The session-expiry property that mosquitto adds to CONNECT (v5, value > 0).
        let mut sei_prop = None;
        if self.protocol == Protocol::V5 {
            if !self.clean_session && self.session_expiry == -1 {
                self.session_expiry = u32::MAX as i64;
            }
            if self.session_expiry > 0 {
                if self.session_expiry == u32::MAX as i64 && no_id {
                    return Err(err(
                        "Error: You must provide a client id if you are using an infinite session expiry interval.\n",
                    ));
                }
                sei_prop = Some(PropertyArg {
                    command: "connect".into(),
                    id: 17,
                    value: PropertyValue::Int(self.session_expiry as u32),
                });
            }
        } else if !self.clean_session && no_id {
            return Err(err(
                "Error: You must provide a client id if you are using the -c option.\n",
            ));
        }
        if self.client == Client::Sub && self.sub_topics.is_empty() {
            return Err(err("Error: You must specify a topic to subscribe to.\n"));
        }
        for (cmd, title) in [
            (Cmd::Connect, "CONNECT"),
            (Cmd::Publish, "PUBLISH"),
            (Cmd::Subscribe, "SUBSCRIBE"),
            (Cmd::Unsubscribe, "UNSUBSCRIBE"),
            (Cmd::Disconnect, "DISCONNECT"),
            (Cmd::Will, "Will"),
        ] {
            let name = cmd_name(cmd);
            let mut list: Vec<&PropertyArg> = self
                .properties
                .iter()
                .filter(|p| p.command == name)
                .collect();
            if cmd == Cmd::Connect
                && let Some(p) = &sei_prop
            {
                list.push(p);
            }
            if let Err(why) = check_props(cmd, &list) {
                return Err(self.quiet_err(format!("Error in {title} properties: {why}\n")));
            }
        }
        match self.client {
            Client::Pub => {
                self.check_topic_separator()?;
                if (self.pub_topic.is_none() && self.topic_separator.is_none())
                    || self.message.is_none()
                {
                    return Err(UsageError {
                        message: "Error: Both topic and message must be supplied.\n".into(),
                        help_line: false,
                        usage_on_stdout: true,
                    });
                }
            }
            Client::Rr => {
                if self.pub_topic.is_none()
                    || self.message.is_none()
                    || self.response_topic.is_none()
                {
                    return Err(err(
                        "Error: All of topic, message, and response topic must be supplied.\n",
                    ));
                }
                // mosquitto_rr adds the Response Topic itself: one from -D is a duplicate.
                if self
                    .properties
                    .iter()
                    .any(|p| p.command == "publish" && p.id == 8)
                {
                    return Err(UsageError {
                        help_line: false,
                        ..self.quiet_err(
                            "Error in PUBLISH properties: Duplicate response topic.\n".into(),
                        )
                    });
                }
            }
            Client::Sub => {
                if self.no_retained && self.retained_only {
                    return Err(UsageError {
                        message: "\nError: Combining '-R' and '--retained-only' makes no sense.\n"
                            .into(),
                        help_line: false,
                        usage_on_stdout: false,
                    });
                }
            }
        }
        let (port, port_invalid) = match self.port {
            -1 => (None, None),
            p @ 0..=65535 => (Some(p as u16), None),
            p => (None, Some(p)),
        };
        let topics = match self.client {
            Client::Pub | Client::Rr => self.pub_topic.into_iter().collect(),
            Client::Sub => self.sub_topics,
        };
        let s = |o: Option<Vec<u8>>| o.map(|b| lossy(&b));
        Ok(Options {
            client: self.client,
            host: self
                .host
                .map(|h| lossy(&h))
                .unwrap_or_else(|| "localhost".into()),
            port,
            unix_socket: port == Some(0),
            url_tls: self.url_tls,
            websockets: self.websockets,
            bind_address: s(self.bind_address),
            id: s(self.id),
            id_prefix: s(self.id_prefix),
            keepalive: self.keepalive as u16,
            clean_session: self.clean_session,
            protocol: self.protocol,
            qos: self.qos as u8,
            username: s(self.username),
            password: s(self.password).map(Secret::from),
            debug: self.debug,
            quiet: self.quiet,
            nodelay: self.nodelay,
            max_inflight: self.max_inflight as u32,
            session_expiry: match self.session_expiry {
                -1 => None,
                n => Some(n as u32),
            },
            properties: self.properties,
            will_topic: s(self.will_topic),
            will_payload: self.will_payload,
            will_qos: self.will_qos as u8,
            will_retain: self.will_retain,
            proxy: s(self.proxy).map(Secret::from),
            proxy_args: self.proxy_args,
            tls: self.tls,
            port_invalid,
            config_warning: None,
            topics,
            message: self.message,
            retain: self.retain,
            repeat: self.repeat as u32,
            repeat_delay: self.repeat_delay,
            filter_out: self.filter_out,
            unsubscribe: self.unsubscribe,
            count: self.count,
            timeout: self.timeout,
            no_retained: self.no_retained,
            exit_after_sub: self.exit_after_sub,
            eol: self.eol,
            verbose: self.verbose,
            format: self.format,
            pretty: self.pretty,
            retained_only: self.retained_only,
            remove_retained: self.remove_retained,
            random_filter: self.random_filter as f64 / 100.0,
            retain_as_published: self.retain_as_published,
            pw_file: self.pw_file,
            topic_separator: self.topic_separator,
            response_topic: self.response_topic,
        })
    }

    /// `--topic-separator` (mqtts's own): only with `-l`, not empty, and the lines name
    /// the topics (no `-t`, no topic alias).
    fn check_topic_separator(&self) -> Result<(), UsageError> {
        let Some(sep) = &self.topic_separator else {
            return Ok(());
        };
        if self.message.is_some() && self.message != Some(MessageSource::StdinLine) {
            return Err(err(
                "Error: --topic-separator needs -l: each line of standard input is TOPIC SEP PAYLOAD.\n",
            ));
        }
        if sep.is_empty() {
            return Err(err("Error: --topic-separator must not be empty.\n"));
        }
        if self.pub_topic.is_some() {
            return Err(err(
                "Error: -t (or a topic in -L) and --topic-separator cannot be used together: each line names its topic.\n",
            ));
        }
        if self
            .properties
            .iter()
            .any(|p| p.command == "publish" && p.id == 0x23)
        {
            return Err(err(
                "Error: --topic-separator cannot be used with the topic-alias property.\n",
            ));
        }
        Ok(())
    }
}
