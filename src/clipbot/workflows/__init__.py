"""The scheduled workflows: what clipbot sends without being asked, and the replies it records.

`planner.plan` turns rosters, assignments and stored sessions into outbox messages (coach posts,
protected-time offers, nudges, reminders, "Did you meet?" checks, rating forms and the educator's
weekly digest), each with a stable idempotency key. `gate.WorkflowGate` decides just before sending
whether a message goes now, waits (quiet hours, sleep after nights, pause, leave) or is dropped.
`service.WorkflowService` records bookings, answers, ratings and pauses, and enqueues the plan.
"""
