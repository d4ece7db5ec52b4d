"""`claimsim loadtest`: an open-loop load test of a runtime (DESIGN.md "Load testing").

A run directory's inputs are offered in seq order at set rates, each with an intended send time
fixed before the test starts; latency is measured from that intended time to the ledger append,
so a runtime that stalls cannot hide its queue (no coordinated omission). `schedule` plans the
arrivals, `drivers` offer them to the embedded or Kafka runtime, `harness` runs the steps,
`measure` turns the timings into per-step figures, `report` writes table/CSV/PNG/JSON, and
`verdict` compares the ledger with the embedded runtime's over the same inputs.
"""
