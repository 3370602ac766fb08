"""The sandbox's HTTP face: app, PostHog's routing, auth, throttles, errors and faults."""
