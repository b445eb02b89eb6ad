// TrackTests: filled by the work on its issue.
