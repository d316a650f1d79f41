"""``python -m psychoalign.web --stimuli SET --db URL --port N``: serve the ClickMe game."""

from psychoalign.web.server import main

__all__: list[str] = []

if __name__ == "__main__":
    raise SystemExit(main())
