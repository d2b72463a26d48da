"""The human side of the loop: refine a member into a narrower prototype, compare two
networks module by module."""
