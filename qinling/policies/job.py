"""Jobs: functions run on a schedule, as the function's owner."""

from __future__ import annotations

from qinling.policies import base

rules = [
    *base.crud("job", "/v1/jobs/{job_id}"),
    base.all_projects("job", "/v1/jobs"),
]
