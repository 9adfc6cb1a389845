"""The process's Prometheus metrics: defined once here, counted where things happen."""

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "qisu_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_SECONDS = Histogram(
    "qisu_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
INTAKES = Counter("qisu_intakes_total", "Appeals taken in (new tickets)", ["channel"])
ROUTING_DECISIONS = Counter(
    "qisu_routing_decisions_total", "Routing decisions stored", ["rule", "trigger"]
)
SWEEP_SECONDS = Histogram(
    "qisu_sweep_duration_seconds",
    "Time one deadline sweep took",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0),
)
SWEPT_ROWS = Counter("qisu_sweep_claimed_rows_total", "Deadline rows a sweep claimed", ["outcome"])
LAST_SWEEP = Gauge("qisu_last_sweep_timestamp_seconds", "When this process last swept (Unix)")
OUTBOX = Gauge("qisu_outbox_notifications", "Notifications in the outbox by state", ["state"])
DELIVERY_FAILURES = Counter(
    "qisu_notification_delivery_failures_total", "Failed notification delivery attempts"
)
MODEL = Gauge("qisu_model_info", "The routing model this process serves (1)", ["version"])
