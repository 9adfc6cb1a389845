"""The deadline engine: the SLA policy, working time, the clocks and the sweep.

A deadline times a subject, a ticket or a whistle; the engine knows neither domain. Tickets and
evaluations start and meet their clocks here and describe their subject to the sweep
(`deadlines.sweep.Subject`).
"""
