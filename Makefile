# Shortcuts for ./dev, which does the work (and creates .venv on first use).
.PHONY: run test bench

run:
	./dev run

test:
	./dev test

bench:
	./dev bench
