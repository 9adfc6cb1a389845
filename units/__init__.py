"""The district's registry of units: line departments, utilities, 街镇 and coordinators."""
