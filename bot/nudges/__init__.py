"""The nudge engine: rules, the schedule they keep, planning, delivery, messages, clicks, sweeps, the digest."""
