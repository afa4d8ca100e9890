# The two commands of the README: `make run` and `make test`.
.PHONY: bench bench-purge run test build deps deps-test bench-insert bench-uploads loadtest bench-events bench-ui-weight bench-ui bench-import

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

# `vitrine loadtest` against a `vitrine serve` it runs on loopback (the private cluster under
# var/loadtest unless DATABASE_URL is set), then the gallery invariants checked; see the README.
CLIENTS ?= 8
DURATION ?= 30s
loadtest: deps build
	VITRINE_DATA_DIR=$${VITRINE_DATA_DIR:-var/loadtest} bin/vitrine loadtest -clients $(CLIENTS) -duration $(DURATION)

bench-insert: deps-test
	bench/insert/run.sh

# The orphan purge on 1M local objects (BENCH_STORE=s3: 100k on versitygw); see bench/purge/run.sh.
bench-purge: deps-test
	bash bench/purge/run.sh

# Peak RSS under 20 concurrent 25 MiB uploads of each format, and upload throughput at 8
# clients, of this tree against BENCH_BASELINE (a commit, default 229098b); see
# bench/uploads/uploads_test.go.
BENCH_BASELINE ?= 229098b
bench-uploads: deps-test build
	rm -rf $(CURDIR)/bin/baseline-src && git worktree add --detach $(CURDIR)/bin/baseline-src $(BENCH_BASELINE)
	cd $(CURDIR)/bin/baseline-src && go build -o $(CURDIR)/bin/vitrine-baseline ./cmd/vitrine
	git worktree remove --force $(CURDIR)/bin/baseline-src
	BENCH_BEFORE_BIN=$(CURDIR)/bin/vitrine-baseline BENCH_AFTER_BIN=$(CURDIR)/bin/vitrine \
		go test -run '^$$' -bench . -benchtime 1x -timeout 2h ./bench/uploads/

# The supplier's page's JavaScript and CSS, gzipped, against Uppy's dashboard bundle; see
# bench/ui/weight.sh.
bench-ui-weight:
	bench/ui/weight.sh

# Live events: 200 streams on one `vitrine serve` (100 on one product, 100 over 10 others),
# commit-to-receipt latency of a few hundred changes; see bench/events/events_test.go.
bench-events: deps-test build
	BENCH_VITRINE_BIN=$(CURDIR)/bin/vitrine go test -run '^$$' -bench . -benchtime 1x -timeout 30m ./bench/events/

# A bulk import of 2,000 real photographs served by a local HTTP server against the same files
# uploaded by 8 clients, on fresh servers, interleaved: images/s, CPU per image, peak RSS; see
# bench/imports/imports_test.go.
bench-import: deps-test build
	BENCH_VITRINE_BIN=$(CURDIR)/bin/vitrine go test -run '^$$' -bench . -benchtime 1x -timeout 1h ./bench/imports/

# Upload answered → variant loaded in the supplier's page (headless Chromium, a real serve), 20
# uploads, p50/p99; see cmd/vitrine/ui_bench_test.go.
bench-ui: deps-test
	go test -run '^$$' -bench BenchmarkUIUploadToVariantShown -benchtime 1x ./cmd/vitrine

# The project's quick benchmarks on the machine at hand, written up with charts in
# docs/BENCHMARKS.md (docs/bench/*.png) by bench/report: thumbnail CPU time by image size
# against naive libvips and pure Go, upload latency by concurrency, the cost of metrics and
# tracing on uploads. QUICK=1 (the default) takes a few minutes on 2 CPUs; QUICK=0 runs
# more iterations and runs. The raw output stays in bin/bench.txt.
QUICK ?= 1
ifeq ($(QUICK),0)
BENCH_THUMBS = -benchtime 3x -count 5
BENCH_UPLOADS = -benchtime 30x -count 5
BENCH_OBSERVE = -benchtime 300x -count 1
else
BENCH_THUMBS = -benchtime 1x -count 3
BENCH_UPLOADS = -benchtime 8x -count 3
BENCH_OBSERVE = -benchtime 30x -count 1
endif
bench: deps-test
	mkdir -p bin
	go test -run '^$$' -bench '^BenchmarkThumbnailSizes$$' $(BENCH_THUMBS) -timeout 1h ./imaging/ > bin/bench.txt
	go test -run '^$$' -bench '^BenchmarkHEICAgainstJPEG$$' $(BENCH_THUMBS) -timeout 1h ./imaging/ >> bin/bench.txt
	go test -run '^$$' -bench '^BenchmarkUploadConcurrency$$' $(BENCH_UPLOADS) -timeout 1h ./cmd/vitrine/ >> bin/bench.txt
	go test -run '^$$' -bench '^BenchmarkUploadObservability$$' $(BENCH_OBSERVE) -timeout 1h ./cmd/vitrine/ >> bin/bench.txt
	go run ./bench/report -in bin/bench.txt -md docs/BENCHMARKS.md -charts docs/bench -mode 'QUICK=$(QUICK)'
