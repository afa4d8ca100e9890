# The two commands of the README: `make run` and `make test`.
.PHONY: bench-purge run test build deps bench-insert

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

# The orphan purge on 1M local objects (BENCH_STORE=s3: 100k on versitygw); see bench/purge/run.sh.
bench-purge: deps
	bash bench/purge/run.sh
