# The two commands of the README: `make run` and `make test`.
.PHONY: bench-purge run test build deps deps-test bench-insert

deps:
	scripts/install-deps.sh

# What the tests and benchmarks need besides: pgbench, versitygw, package lists.
deps-test:
	scripts/install-deps.sh --test

build:
	go build -o bin/vitrine ./cmd/vitrine

run: deps build
	bin/vitrine serve

test:
	scripts/test.sh

bench-insert: deps-test
	bench/insert/run.sh

# The orphan purge on 1M local objects (BENCH_STORE=s3: 100k on versitygw); see bench/purge/run.sh.
bench-purge: deps-test
	bash bench/purge/run.sh
