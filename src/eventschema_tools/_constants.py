"""Constants shared by the client and the services, in a module that imports nothing."""

# PostHog's list endpoints have no maximum `limit`; a large page keeps the request count of a
# full read near its lower bound (see BENCHMARKS.md for the measurement behind this value).
DEFAULT_PAGE_SIZE = 1000
