"""The closed loop: intake, the lifecycle state machine, assignments and the audit trail."""
