/*
 * admin_check: check -- the world the configuration names, checked live
 * (admin.c's rules hold here; admin_int.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "policy/admin_int.h"
#include "proxy/errbody.h"
#include "proxy/conf.h"

/* ---- check ---------------------------------------------------------------- */

/*
 * What an operator asks before trusting a deployment, each checked live:
 * the policy store loads, the backend takes the service credentials (a
 * signed ListBuckets), the two clocks agree within the 15 minutes
 * signatures allow, and the TLS certificates are not about to expire.
 * s3gate -t checks the configuration's text; this checks the world it
 * names.  A wrong service secret otherwise shows first as every client's
 * 502.
 */
enum admin_check_level { ADMIN_CHECK_OK, ADMIN_CHECK_WARN, ADMIN_CHECK_FAIL };

#define ADMIN_CHECK_SKEW_WARN	60		/* seconds */
#define ADMIN_CHECK_SKEW_FAIL	(15 * 60)	/* SigV4's allowance: beyond it every request fails */
#define ADMIN_CHECK_CERT_DAYS	14

struct admin_check {
	json_t	*results;
	int	 count[3];
};

static void
admin_check_report(struct admin *a, struct admin_check *ck, enum admin_check_level level,
    const char *what, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* One line of the report, "ok   WHAT: DETAIL" (warn, FAIL), and its JSON object. */
static void
admin_check_report(struct admin *a, struct admin_check *ck, enum admin_check_level level,
    const char *what, const char *fmt, ...)
{
	static const char *const shown[] = { "ok  ", "warn", "FAIL" };
	static const char *const word[] = { "ok", "warn", "fail" };
	struct sbuf detail = SBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sbuf_vappendf(&detail, fmt, ap);
	va_end(ap);
	admin_text(a, "%s %s: %s", shown[level], what, detail.data);
	json_array_append_new(ck->results, json_pack("{s:s,s:s,s:s}", "check", what,
	    "result", word[level], "detail", detail.data));
	ck->count[level]++;
	sbuf_free(&detail);
}

static void
admin_check_store(struct admin *a, struct admin_check *ck)
{
	const struct model *m;

	if (admin_load(a) != 0) {
		admin_check_report(a, ck, ADMIN_CHECK_FAIL, "policy store",
		    "does not load (the reason is above)");
		return;
	}
	m = a->model;
	admin_check_report(a, ck, ADMIN_CHECK_OK, "policy store", "%s: %zu workspaces, "
	    "%zu buckets, %zu grants, %zu requests, %zu credentials",
	    a->conf->store_kind == CONF_STORE_REDIS ? "redis" : a->dir, m->nworkspaces,
	    m->nbuckets, m->ngrants, m->nrequests, m->ncredentials);
}

/* The Date header of the head in RESP, or -1. */
static time_t
admin_check_date(const char *resp)
{
	const char *p = resp, *end = strstr(resp, "\r\n\r\n");
	struct tm tm;

	while ((p = strstr(p, "\r\n")) != NULL && (end == NULL || p < end)) {
		p += 2;
		if (strncasecmp(p, "date:", 5) != 0)
			continue;
		for (p += 5; *p == ' ' || *p == '\t'; p++)
			;
		memset(&tm, 0, sizeof(tm));
		if (strptime(p, "%a, %d %b %Y %H:%M:%S GMT", &tm) == NULL)
			return -1;
		return timegm(&tm);
	}
	return -1;
}

static void
admin_check_backend(struct admin *a, struct admin_check *ck)
{
	const struct conf *c = a->conf;
	struct sbuf err = SBUF_INIT;
	char resp[4096], code[ERRBODY_CODE_MAX] = "";
	const char *body;
	time_t date;
	long long skew;
	int status;

	status = admin_backend_request(a, "GET", "/", 1, resp, sizeof(resp), &err);
	if (status == -1) {
		admin_check_report(a, ck, ADMIN_CHECK_FAIL, "backend", "%s", err.data);
		sbuf_free(&err);
		return;
	}
	sbuf_free(&err);
	if (status == 200)
		admin_check_report(a, ck, ADMIN_CHECK_OK, "backend", "%s takes the service "
		    "credentials (a signed ListBuckets: 200)", c->backend_url);
	else {
		/* the code only: a body may echo the key id (errbody.h) */
		if ((body = strstr(resp, "\r\n\r\n")) != NULL)
			(void)errbody_judge(body + 4, strlen(body + 4), c->backend_access_key_id,
			    c->backend_secret, code);
		admin_check_report(a, ck, ADMIN_CHECK_FAIL, "backend", "%s refuses the service "
		    "credentials (a signed ListBuckets: %d %s): check backend_credentials (the key "
		    "id and its secret) and region in %s", c->backend_url, status,
		    code[0] ? code : "-", c->file);
	}
	if ((date = admin_check_date(resp)) == -1) {
		admin_check_report(a, ck, ADMIN_CHECK_WARN, "clock", "the backend's answer has no "
		    "Date to compare s3gate's clock with");
		return;
	}
	skew = (long long)(time(NULL) - date);
	admin_check_report(a, ck, llabs(skew) >= ADMIN_CHECK_SKEW_FAIL ? ADMIN_CHECK_FAIL :
	    llabs(skew) >= ADMIN_CHECK_SKEW_WARN ? ADMIN_CHECK_WARN : ADMIN_CHECK_OK, "clock",
	    "this host's clock is %lld s %s the backend's%s", llabs(skew),
	    skew >= 0 ? "ahead of" : "behind", llabs(skew) >= ADMIN_CHECK_SKEW_WARN ?
	    " (signatures are refused beyond 15 min): run NTP on both" : "");
}

static void
admin_check_certificates(struct admin *a, struct admin_check *ck)
{
	const struct conf *c = a->conf;
	char what[64], until[32];
	struct tm tm;
	int i, days, secs;

	for (i = 0; i < c->ncerts; i++) {
		const char *file = c->certs[i].cert_file;
		FILE *f = fopen(file, "r");
		X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

		if (f != NULL)
			fclose(f);
		snprintf(what, sizeof(what), "certificate %d", i + 1);
		if (x == NULL || ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)) != 1 ||
		    ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1) {
			admin_check_report(a, ck, ADMIN_CHECK_FAIL, what, "%s (%s): not a PEM "
			    "certificate s3gate can read", file, c->certs[i].where);
			X509_free(x);
			continue;
		}
		strftime(until, sizeof(until), "%Y-%m-%d %H:%M UTC", &tm);
		if (days < 0 || secs < 0)
			admin_check_report(a, ck, ADMIN_CHECK_FAIL, what, "%s expired on %s: clients "
			    "refuse it; renew it and reload", file, until);
		else
			admin_check_report(a, ck, days < ADMIN_CHECK_CERT_DAYS ? ADMIN_CHECK_WARN :
			    ADMIN_CHECK_OK, what, "%s is valid until %s (%d days)%s", file, until, days,
			    days < ADMIN_CHECK_CERT_DAYS ? ": renew it soon" : "");
		X509_free(x);
	}
}

int
admin_check(struct admin *a, struct admin_args *args)
{
	struct admin_check ck = { json_array(), { 0, 0, 0 } };

	if (args->npos != 0) {
		json_decref(ck.results);
		return admin_fail(a, "usage: check");
	}
	admin_check_report(a, &ck, ADMIN_CHECK_OK, "configuration", "%s loads", a->conf->file);
	admin_check_store(a, &ck);
	admin_check_backend(a, &ck);
	admin_check_certificates(a, &ck);
	admin_text(a, "%d ok, %d warnings, %d failed", ck.count[ADMIN_CHECK_OK],
	    ck.count[ADMIN_CHECK_WARN], ck.count[ADMIN_CHECK_FAIL]);
	json_object_set_new(a->doc, "checks", ck.results);
	return ck.count[ADMIN_CHECK_FAIL] > 0 ? 1 : 0;
}
