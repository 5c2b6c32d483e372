"""Everything TalkMe-specific: the webhook payload, the API client and a local stand-in.

* :mod:`.payloads` — pydantic models of the webhook body; masking helpers for logs.
* :mod:`.client` — :class:`~.client.TalkMeClient`, one precise attempt per call, failures
  classified as retryable or permanent (:class:`~.client.TalkMeError`).
* :mod:`.simulator` — a TalkMe stand-in, a package of its own (recorded calls, fault injection,
  event-driven waiting, the fake API and its account API, remote control) and
  :func:`~.simulator.running_simulator` to serve it in-process.
* :mod:`.visitor` — a scripted visitor that posts real webhook bodies to the service.
* :mod:`.simulate_cli` — :func:`~.simulate_cli.run_simulation` for ``talkme-consultant simulate``.

Nothing is imported here, so importing the payload models does not pull in uvicorn.
"""
