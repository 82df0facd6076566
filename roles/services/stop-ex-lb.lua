-- services/stop-ex-lb (ezk stop, step 92: on [ex_lb], after the nodes):
-- keepalived (the VIP goes) then the balancer, stopped and disabled at boot.
for _, s in ipairs({ "keepalived", "l4lb" }) do
  service { name = s, state = "stopped", enabled = false }
end
