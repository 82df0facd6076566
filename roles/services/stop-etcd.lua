-- services/stop-etcd (ezk stop, step 92: on [etcd], last): etcd stopped and
-- disabled at boot on every member at once (its data stays).
service { name = "etcd", state = "stopped", enabled = false }
