# The README's two commands: `make run` (one agent on embedded defaults) and `make test`.
SHELL := /bin/bash
DOTNET ?= dotnet
CONFIG ?= Release
PREFIX ?= /opt/appliance
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1

.PHONY: build test test-deps run bench clean ctl demo

build:
	$(DOTNET) build Appliance.sln -c $(CONFIG) -warnaserror

test-deps:
	tools/dev/install-test-deps.sh

test: test-deps build
	$(DOTNET) test Appliance.sln -c $(CONFIG) --no-build --logger "console;verbosity=normal" 2>&1 | tee /tmp/appliance-test.log; exit $${PIPESTATUS[0]}

run: build
	mkdir -p var
	$(DOTNET) agent/Appliance.Agent/bin/$(CONFIG)/net10.0/appliance-agent.dll --config tools/dev/run.json

clean:
	$(DOTNET) clean Appliance.sln -c $(CONFIG) >/dev/null
	rm -rf var out .bench

# The appliance OS image (images/): make image, make image-test.
-include images/image.mk

# Figures are for the agent that ships (images/publish.sh: trimmed, ReadyToRun); RSS also for the build
# output. One figure: make bench BENCH_ARGS="--only rss" (ready, rss, commits, failover, sigkill, heartbeat-cpu, mqtt-floor, pair-cpu, starvation, fencing, panel).
bench: test-deps build
	images/publish.sh .bench/publish
	APPLIANCE_AGENT_EXE=.bench/publish/agent/appliance-agent $(DOTNET) tools/Appliance.Bench/bin/$(CONFIG)/net10.0/appliance-bench.dll $(BENCH_ARGS)

# appliancectl against the agent `make run` started: make ctl ARGS="history --limit 5"
ctl:
	@tools/Appliance.Ctl/bin/$(CONFIG)/net10.0/appliancectl $(ARGS)

# Two agents on loopback: SIGKILL failover, rejoin, planned switch back (tools/dev/demo.sh).
demo: build
	tools/dev/demo.sh
