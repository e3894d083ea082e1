"""Prefect flows: one per stage, ``reproduce`` (end to end) and ``retrain`` (scheduled).

Flows wrap stages; stages never know about flows. Every flow task calls ``opc_core.runner.run_stage``,
so a Prefect run, ``opc run`` from the shell, a notebook and a Kubernetes job do the same work and
share the same content-addressed cache.
"""
