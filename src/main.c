/*
 * main.c - checkpointd: flags, start-up, signals and a clean stop.
 *
 * Everything else lives in libcheckpointd.a (src/http, src/api, src/jobs,
 * src/engine, src/store), which the unit tests link too.
 */
#include "api/api.h"
#include "api/cache.h"
#include "engine/engine.h"
#include "http/http.h"
#include "jobs/jobs.h"
#include "log.h"
#include "store/store.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ENGINES 32

static const char usage[] =
	"usage: checkpointd [options]\n"
	"\n"
	"A REST service that takes, records and restores checkpoints (CRIU) of\n"
	"containers on Docker and Podman engines.\n"
	"\n"
	"  --listen ADDR:PORT   where to serve HTTP (default 127.0.0.1:8780)\n"
	"  --data-dir DIR       where checkpointd.db and Podman checkpoints' archives\n"
	"                       (archives/) live (default /var/lib/checkpointd)\n"
	"  --engine NAME=URL[,tls=DIR]\n"
	"                       a Docker Engine, tcp://HOST:PORT, https://HOST:PORT\n"
	"                       or unix:///PATH; podman+ in front for a Podman\n"
	"                       engine (podman system service); repeatable.\n"
	"                       tls=DIR: TLS with the\n"
	"                       certificate folder DIR (ca.pem, cert.pem, key.pem,\n"
	"                       as the docker CLI's); the engine's certificate is\n"
	"                       always verified.  Default: 'default' from DOCKER_HOST\n"
	"                       (else tcp://127.0.0.1:2375), with TLS from\n"
	"                       DOCKER_CERT_PATH (else ~/.docker) when\n"
	"                       DOCKER_TLS_VERIFY is set (port 2376 then)\n"
	"  --threads N          HTTP worker threads (default 4)\n"
	"  --workers N          job worker threads (default 4)\n"
	"  --help, --version\n"
	"\n"
	"Each option may also come from the environment: CHECKPOINTD_LISTEN,\n"
	"CHECKPOINTD_DATA_DIR, CHECKPOINTD_ENGINE (several NAME=URL[,tls=DIR]\n"
	"separated by spaces, semicolons or commas), CHECKPOINTD_THREADS,\n"
	"CHECKPOINTD_WORKERS.  Flags win.\n";

struct config {
	const char *listen;
	const char *data_dir;
	char *engine_spec[MAX_ENGINES];
	int nengines;
	unsigned threads;
	unsigned workers;
};

static int add_engine_spec(struct config *cfg, const char *spec)
{
	if (cfg->nengines >= MAX_ENGINES) {
		fprintf(stderr, "checkpointd: at most %d engines\n", MAX_ENGINES);
		return -1;
	}
	cfg->engine_spec[cfg->nengines] = strdup(spec);
	if (!cfg->engine_spec[cfg->nengines])
		return -1;
	cfg->nengines++;
	return 0;
}

/* Splits CHECKPOINTD_ENGINE into specs: on spaces and semicolons, and on a
 * comma when what follows is a new NAME=URL ("a=tcp://h:1,b=tcp://h:2"), not
 * an option of the spec before it ("a=tcp://h:1,tls=/certs"). */
static int add_engine_specs(struct config *cfg, const char *list)
{
	char *copy = strdup(list), *chunk, *piece, *save = NULL, *save2 = NULL;
	char spec[4096] = "";
	int rc = -1;

	if (!copy)
		return -1;
	for (chunk = strtok_r(copy, " \t\n;", &save); chunk;
	     chunk = strtok_r(NULL, " \t\n;", &save)) {
		for (piece = strtok_r(chunk, ",", &save2); piece;
		     piece = strtok_r(NULL, ",", &save2)) {
			int option = strncmp(piece, "tls=", 4) == 0 || !strchr(piece, '=');

			if (spec[0] && !option) {
				if (add_engine_spec(cfg, spec))
					goto out;
				spec[0] = '\0';
			}
			if (strlen(spec) + strlen(piece) + 2 > sizeof(spec)) {
				fprintf(stderr, "checkpointd: CHECKPOINTD_ENGINE: '%s' is too long\n",
					piece);
				goto out;
			}
			if (spec[0])
				strcat(spec, ",");
			strcat(spec, piece);
		}
		if (spec[0] && add_engine_spec(cfg, spec))
			goto out;
		spec[0] = '\0';
	}
	rc = 0;
out:
	free(copy);
	return rc;
}

/* The docker CLI's engine: DOCKER_HOST, and TLS with DOCKER_CERT_PATH (else
 * ~/.docker) when DOCKER_TLS_VERIFY is set and not empty. */
static int add_default_engine(struct config *cfg)
{
	const char *host = getenv("DOCKER_HOST"), *verify = getenv("DOCKER_TLS_VERIFY");
	const char *certs = getenv("DOCKER_CERT_PATH"), *home = getenv("HOME");
	int tls = verify && *verify;
	char spec[4200];
	int n;

	if (!host || !*host)
		host = tls ? "tcp://127.0.0.1:2376" : "tcp://127.0.0.1:2375";
	if (!tls)
		n = snprintf(spec, sizeof(spec), "default=%s", host);
	else if (certs && *certs)
		n = snprintf(spec, sizeof(spec), "default=%s,tls=%s", host, certs);
	else
		n = snprintf(spec, sizeof(spec), "default=%s,tls=%s/.docker", host,
			     home && *home ? home : "");
	if (n < 0 || (size_t)n >= sizeof(spec)) {
		fprintf(stderr, "checkpointd: DOCKER_HOST or DOCKER_CERT_PATH too long\n");
		return -1;
	}
	return add_engine_spec(cfg, spec);
}

static int parse_count(const char *what, const char *s, unsigned *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || v > 256) {
		fprintf(stderr, "checkpointd: %s must be 1 to 256, not '%s'\n", what, s);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/* Flags first, then the environment for what flags left unset. */
static int parse_config(int argc, char **argv, struct config *cfg)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"data-dir", required_argument, NULL, 'd'},
		{"engine", required_argument, NULL, 'e'},
		{"threads", required_argument, NULL, 't'},
		{"workers", required_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *env;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l': cfg->listen = optarg; break;
		case 'd': cfg->data_dir = optarg; break;
		case 'e':
			if (add_engine_spec(cfg, optarg))
				return -1;
			break;
		case 't':
			if (parse_count("--threads", optarg, &cfg->threads))
				return -1;
			break;
		case 'w':
			if (parse_count("--workers", optarg, &cfg->workers))
				return -1;
			break;
		case 'h': fputs(usage, stdout); exit(0);
		case 'V': printf("checkpointd %s\n", CHECKPOINTD_VERSION); exit(0);
		default: fputs(usage, stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "checkpointd: unexpected argument '%s'\n%s", argv[optind], usage);
		return -1;
	}
	if (!cfg->listen && (env = getenv("CHECKPOINTD_LISTEN")) && *env)
		cfg->listen = env;
	if (!cfg->data_dir && (env = getenv("CHECKPOINTD_DATA_DIR")) && *env)
		cfg->data_dir = env;
	if (!cfg->threads && (env = getenv("CHECKPOINTD_THREADS")) && *env &&
	    parse_count("CHECKPOINTD_THREADS", env, &cfg->threads))
		return -1;
	if (!cfg->workers && (env = getenv("CHECKPOINTD_WORKERS")) && *env &&
	    parse_count("CHECKPOINTD_WORKERS", env, &cfg->workers))
		return -1;
	if (!cfg->nengines && (env = getenv("CHECKPOINTD_ENGINE")) && *env &&
	    add_engine_specs(cfg, env))
		return -1;
	if (!cfg->nengines && add_default_engine(cfg))
		return -1;
	if (!cfg->listen)
		cfg->listen = "127.0.0.1:8780";
	if (!cfg->data_dir)
		cfg->data_dir = "/var/lib/checkpointd";
	if (!cfg->threads)
		cfg->threads = 4;
	if (!cfg->workers)
		cfg->workers = 4;
	return 0;
}

/* Creates the engines named by "NAME=URL[,tls=DIR]" specs (DIR is the rest
 * of the spec, commas included); names must be unique. */
static int make_engines(struct config *cfg, struct engine **engines)
{
	char err[1200];
	int i, k;

	for (i = 0; i < cfg->nengines; i++) {
		char *eq = strchr(cfg->engine_spec[i], '=');
		char *opt, *tls_dir = NULL;

		if (!eq || eq == cfg->engine_spec[i] || eq - cfg->engine_spec[i] > 63) {
			fprintf(stderr, "checkpointd: --engine wants NAME=URL[,tls=DIR], not '%s'\n",
				cfg->engine_spec[i]);
			return -1;
		}
		opt = strchr(eq + 1, ',');
		if (opt) {
			if (strncmp(opt + 1, "tls=", 4) != 0 || !opt[5]) {
				fprintf(stderr,
					"checkpointd: engine '%s': after the URL only ',tls=DIR' may "
					"follow, not ',%s'\n", cfg->engine_spec[i], opt + 1);
				return -1;
			}
			*opt = '\0';
			tls_dir = opt + 5;
		}
		*eq = '\0';
		for (k = 0; k < i; k++)
			if (strcmp(engine_name(engines[k]), cfg->engine_spec[i]) == 0) {
				fprintf(stderr, "checkpointd: engine '%s' is named twice\n",
					cfg->engine_spec[i]);
				return -1;
			}
		engines[i] = engine_new(cfg->engine_spec[i], eq + 1, tls_dir, err, sizeof(err));
		if (!engines[i]) {
			fprintf(stderr, "checkpointd: %s\n", err);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct config cfg = {0};
	struct engine *engines[MAX_ENGINES] = {0};
	struct store *st = NULL;
	struct jobs *jobs = NULL;
	struct http_server *srv = NULL;
	struct api api = {0};
	struct http_server_config hc = {0};
	char err[512], dbpath[4200];
	sigset_t sigs;
	int sig, i, rc = 1, jobs_left = 0;

	if (parse_config(argc, argv, &cfg))
		return 2;
	/* Signals are taken by sigwait() below; every thread inherits the mask. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	curl_global_init(CURL_GLOBAL_ALL);

	if (mkdir(cfg.data_dir, 0700) && errno != EEXIST) {
		fprintf(stderr, "checkpointd: cannot create '%s': %s\n", cfg.data_dir, strerror(errno));
		goto out;
	}
	snprintf(dbpath, sizeof(dbpath), "%s/checkpointd.db", cfg.data_dir);
	st = store_open(dbpath, err, sizeof(err));
	if (!st) {
		fprintf(stderr, "checkpointd: %s\n", err);
		goto out;
	}
	if (store_interrupted_count(st))
		log_line("store: %d job(s) were running when the service stopped; marked interrupted",
			 store_interrupted_count(st));
	if (make_engines(&cfg, engines))
		goto out;
	jobs = jobs_start(st, engines, cfg.nengines, cfg.workers, 10000);
	if (!jobs) {
		fprintf(stderr, "checkpointd: cannot start job workers\n");
		goto out;
	}
	for (i = 0; i < cfg.nengines; i++) {
		struct engine_info info;

		engine_info_get(engines[i], &info);
		if (info.reachable)
			log_line("engine %s: %s, %s %s, API %s, experimental %s%s%s",
				 engine_name(engines[i]), engine_url(engines[i]),
				 engine_kind(engines[i]) == ENGINE_PODMAN ? "Podman" : "Docker",
				 info.docker_version,
				 info.api_version, info.experimental > 0 ? "on" : "off",
				 info.warning[0] ? "; warning: " : "", info.warning);
		else
			log_line("engine %s: %s does not answer: %s", engine_name(engines[i]),
				 engine_url(engines[i]), info.error);
	}
	snprintf(dbpath, sizeof(dbpath), "%s/archives", cfg.data_dir);
	if (mkdir(dbpath, 0700) && errno != EEXIST) {
		fprintf(stderr, "checkpointd: cannot create '%s': %s\n", dbpath, strerror(errno));
		goto out;
	}
	jobs_set_archive_dir(jobs, dbpath);
	api.jobs = jobs;
	api.lists = api_cache_new();
	hc.listen = cfg.listen;
	hc.threads = cfg.threads;
	hc.routes = api_routes();
	hc.app = &api;
	srv = http_server_start(&hc, err, sizeof(err));
	if (!srv) {
		fprintf(stderr, "checkpointd: %s\n", err);
		goto out;
	}
	api.server = srv;
	log_line("checkpointd %s listening on %s (data in %s)", CHECKPOINTD_VERSION, cfg.listen,
		 cfg.data_dir);

	while (sigwait(&sigs, &sig) != 0)
		;
	log_line("signal %d: stopping (no new connections; finishing requests and jobs)", sig);
	rc = 0;
out:
	if (srv) {
		/* stop accepting, let jobs finish (their waiters answer), then
		 * let the requests in flight complete */
		http_server_stopping_begin(srv);
		jobs_left = jobs ? jobs_drain(jobs, 30000) : 0;
		http_server_stop(srv, 10000);
	} else if (jobs) {
		jobs_left = jobs_drain(jobs, 30000);
	}
	if (jobs_left) {
		/* workers are still inside engine calls: leave the database as
		 * SQLite's journal keeps it safe; the records show interrupted */
		log_line("stopped (jobs left running)");
		_exit(rc);
	}
	jobs_free(jobs); /* frees the engines it took over */
	if (!jobs)
		for (i = 0; i < cfg.nengines; i++)
			engine_free(engines[i]);
	api_cache_free(api.lists);
	store_close(st);
	for (i = 0; i < cfg.nengines; i++)
		free(cfg.engine_spec[i]);
	curl_global_cleanup();
	if (rc == 0)
		log_line("stopped");
	return rc;
}
