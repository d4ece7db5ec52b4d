"""The streaming runtime: the adjudication core as a faust-streaming agent on Apache Kafka.

`producer` publishes a run's input (with the ledger's epoch facts broadcast to every partition),
`app` is the faust worker that applies the core per family (`faust_settings` sets up its faust
app), `sink` writes the ledger in `cause` order, and `runner` drives the three for
`claimsim adjudicate --runtime kafka` (DESIGN.md "The two runtimes share one core").
"""
