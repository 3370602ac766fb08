"""Events in the sandbox: capture, PostHog's type coercion, the chDB event store and HogQL."""
