"""Code that runs in the zygote and in the workers it forks.

Everything here imports the standard library only: the zygote is started with
``python -I -S`` and finds this package as the top-level module ``_sandbox``
(see ``qinling.orchestrator.local.zygote_client``), so nothing of the service,
its virtualenv or its configuration is ever loaded into a worker.
"""
