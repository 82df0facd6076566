-- services/start-ex-lb (ezk start, step 91: on [ex_lb], after the control
-- plane): the balancer, then keepalived (the VIP), enabled and started.
for _, s in ipairs({ "l4lb", "keepalived" }) do
  service { name = s, state = "started", enabled = true }
end
