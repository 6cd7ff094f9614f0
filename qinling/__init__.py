"""Qinling: Function-as-a-Service for OpenStack."""

import warnings

# oslo.messaging imports oslo.service and futurist, which import eventlet when it
# is installed and warn that it is deprecated. Qinling never uses or
# monkey-patches eventlet (it is threaded throughout), so the warning only
# confuses operators.
warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")
