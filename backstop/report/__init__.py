"""The report layer: what the declared posture and the evidence prove against the RPO/RTO objectives.

`objectives` derives each scenario's achieved RPO and RTO (the application's in `app_scenarios`, every row
built by `rows`); `evidence` is the hash-chained evidence store; `attestations` reads what the weekly audit
attested. A new report row goes here.
"""
