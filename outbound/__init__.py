"""The retro's outcome where the team works: chat digests, tickets per fix, Slack's verdict buttons."""
