# The two commands of the README: `make run` and `make test`.
.PHONY: run test build deps bench-insert

deps:
	scripts/install-deps.sh

build:
	go build -o bin/vitrine ./cmd/vitrine

run: deps build
	bin/vitrine serve

test:
	scripts/test.sh

bench-insert: deps
	bench/insert/run.sh
