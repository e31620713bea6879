//! TLS: mapping mosquitto's TLS flags onto paho, checking files before connecting, and
//! naming the cause of every TLS failure. (Being written; see issue 5.)
