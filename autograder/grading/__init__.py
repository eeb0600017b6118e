"""The instructor's side: the course layout, release, sample submissions, autograding, reports."""
