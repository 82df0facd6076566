#!/bin/sh
# ezkbench: the benchmark's stand-in for a service binary
. /etc/ezkbench.env
exec /bin/sleep infinity
