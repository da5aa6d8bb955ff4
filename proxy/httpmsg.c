/*
 * httpmsg: request and response heads through llhttp, strictly.
 *
 * The head is parsed from the start of the buffer on every call; the cost
 * is bounded by max_head and avoids keeping parser state between reads.
 * llhttp is stopped in on_headers_complete: bodies are never parsed here.
 * On top of llhttp's own checks (CL+TE, duplicate Content-Length, bad
 * chunk sizes) the raw head is screened for shapes llhttp may tolerate in
 * some versions: obs-fold, bare LF, NUL and control bytes.
 */
#include <ctype.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "proxy/httpmsg.h"
#include "proxy/uri.h"

struct http_ctx {
	struct http_head		*head;
	const struct http_limits	*limits;
	int				 in_value;
	int				 too_many;
	int				 te_other;	/* Transfer-Encoding other than "chunked" */
	int				 te_count;
	int				 cl_count;
	int				 host_count;	/* RFC 9112 3.2: exactly one in a request */
	const char			*bad_name;	/* why a request header name is refused */
};

/* RFC 9110 tchar: ALPHA, DIGIT and "!#$%&'*+-.^_`|~", one lookup per byte */
#define HTTP_TCHAR	0x01
#define HTTP_UNDERSCORE	0x02	/* refused in a request's names (below) */

static const unsigned char httpmsg_name_class[256] = {
	['!'] = HTTP_TCHAR, ['#'] = HTTP_TCHAR, ['$'] = HTTP_TCHAR, ['%'] = HTTP_TCHAR,
	['&'] = HTTP_TCHAR, ['\''] = HTTP_TCHAR, ['*'] = HTTP_TCHAR,
	['+'] = HTTP_TCHAR, ['-'] = HTTP_TCHAR, ['.'] = HTTP_TCHAR, ['^'] = HTTP_TCHAR,
	['`'] = HTTP_TCHAR, ['|'] = HTTP_TCHAR, ['~'] = HTTP_TCHAR,
	['_'] = HTTP_TCHAR | HTTP_UNDERSCORE,
	['0'] = HTTP_TCHAR, ['1'] = HTTP_TCHAR, ['2'] = HTTP_TCHAR, ['3'] = HTTP_TCHAR,
	['4'] = HTTP_TCHAR, ['5'] = HTTP_TCHAR, ['6'] = HTTP_TCHAR, ['7'] = HTTP_TCHAR,
	['8'] = HTTP_TCHAR, ['9'] = HTTP_TCHAR, ['A'] = HTTP_TCHAR, ['B'] = HTTP_TCHAR,
	['C'] = HTTP_TCHAR, ['D'] = HTTP_TCHAR, ['E'] = HTTP_TCHAR, ['F'] = HTTP_TCHAR,
	['G'] = HTTP_TCHAR, ['H'] = HTTP_TCHAR, ['I'] = HTTP_TCHAR, ['J'] = HTTP_TCHAR,
	['K'] = HTTP_TCHAR, ['L'] = HTTP_TCHAR, ['M'] = HTTP_TCHAR, ['N'] = HTTP_TCHAR,
	['O'] = HTTP_TCHAR, ['P'] = HTTP_TCHAR, ['Q'] = HTTP_TCHAR, ['R'] = HTTP_TCHAR,
	['S'] = HTTP_TCHAR, ['T'] = HTTP_TCHAR, ['U'] = HTTP_TCHAR, ['V'] = HTTP_TCHAR,
	['W'] = HTTP_TCHAR, ['X'] = HTTP_TCHAR, ['Y'] = HTTP_TCHAR, ['Z'] = HTTP_TCHAR,
	['a'] = HTTP_TCHAR, ['b'] = HTTP_TCHAR, ['c'] = HTTP_TCHAR, ['d'] = HTTP_TCHAR,
	['e'] = HTTP_TCHAR, ['f'] = HTTP_TCHAR, ['g'] = HTTP_TCHAR, ['h'] = HTTP_TCHAR,
	['i'] = HTTP_TCHAR, ['j'] = HTTP_TCHAR, ['k'] = HTTP_TCHAR, ['l'] = HTTP_TCHAR,
	['m'] = HTTP_TCHAR, ['n'] = HTTP_TCHAR, ['o'] = HTTP_TCHAR, ['p'] = HTTP_TCHAR,
	['q'] = HTTP_TCHAR, ['r'] = HTTP_TCHAR, ['s'] = HTTP_TCHAR, ['t'] = HTTP_TCHAR,
	['u'] = HTTP_TCHAR, ['v'] = HTTP_TCHAR, ['w'] = HTTP_TCHAR, ['x'] = HTTP_TCHAR,
	['y'] = HTTP_TCHAR, ['z'] = HTTP_TCHAR,
};

/*
 * A header name must be an RFC 9110 token, and a request's without '_':
 * Ceph RGW (like CGI) folds '-' and '_' together, so "x_amz_copy_source"
 * would act as x-amz-copy-source there while s3gate's signature check and
 * policy saw an unknown, unsigned header.  (llhttp, built lenient, lets a
 * space through, and an empty name, which a backend might trim; a
 * response's goes on to the client, whose parser might.)  NULL if NAME is
 * acceptable.
 */
static const char *
httpmsg_name_error(const char *name, size_t len, int is_response)
{
	unsigned char every = HTTP_TCHAR, any = 0;
	size_t i;

	if (len == 0)
		return "an empty header name";
	/* the bytes' classes folded, judged once: no branch per byte */
	for (i = 0; i < len; i++) {
		unsigned char cls = httpmsg_name_class[(unsigned char)name[i]];
		every &= cls;
		any |= cls;
	}
	if (!(every & HTTP_TCHAR))
		return "a header name that is not a token";
	if ((any & HTTP_UNDERSCORE) && !is_response)
		return "a header name with '_' (refused: backends read it as '-')";
	return NULL;
}

/*
 * Headers a client may not declare hop-by-hop in Connection: s3gate frames
 * the request itself and signs what it forwards, so dropping any of these
 * on the client's say-so could only confuse what the backend acts on.
 */
static int
httpmsg_connection_token_protected(const char *tok, size_t len)
{
	static const char *const names[] = { "content-length", "transfer-encoding", "host",
	    "expect", "authorization" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && strncasecmp(tok, names[i], len) == 0)
			return 1;
	return (len >= 6 && strncasecmp(tok, "x-amz-", 6) == 0) ||
	    (len >= 8 && strncasecmp(tok, "content-", 8) == 0);
}

/*
 * Headers S3 reads as one value.  A repeat is refused: s3gate's signature
 * check and policy read the joined or the first value, a backend may act on
 * the last (RGW keeps the last x-amz-copy-source; SigV2 checks the first
 * Content-MD5), and what the policy saw must be what the backend does.
 */
static int
httpmsg_single_valued(const char *name, size_t len)
{
	static const char *const names[] = { "authorization", "content-md5", "content-type",
	    "range", "date", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since" };
	size_t i;

	if (len >= 6 && strncasecmp(name, "x-amz-", 6) == 0)
		return 1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && strncasecmp(name, names[i], len) == 0)
			return 1;
	return 0;
}

/* The first single-valued header the request repeats, or NULL. */
static const struct http_header *
httpmsg_repeated(const struct http_head *head)
{
	size_t i, j;

	for (i = 0; i < head->nheaders; i++) {
		const struct http_header *a = &head->headers[i];
		if (!httpmsg_single_valued(a->name, a->name_len))
			continue;
		for (j = i + 1; j < head->nheaders; j++) {
			const struct http_header *b = &head->headers[j];
			if (b->name_len == a->name_len && strncasecmp(a->name, b->name, a->name_len) == 0)
				return a;
		}
	}
	return NULL;
}

/* Whether the request's Connection header names a protected header. */
static int
httpmsg_connection_bad(const struct http_head *head)
{
	const struct http_header *c = httpmsg_header_find(head, "connection");
	const char *p, *tok;
	size_t len;

	if (c == NULL)
		return 0;
	for (p = c->value; (tok = httpmsg_list_next(&p, c->value + c->value_len, &len)) != NULL; )
		if (httpmsg_connection_token_protected(tok, len))
			return 1;
	return 0;
}

const char *
httpmsg_list_next(const char **p, const char *end, size_t *len)
{
	const char *tok, *tend;

	while (*p < end && (**p == ' ' || **p == '\t' || **p == ','))
		(*p)++;
	if (*p == end)
		return NULL;
	for (tok = *p; *p < end && **p != ','; (*p)++)
		;
	/* tok is neither blank nor a comma: what is left after the trim is not empty */
	for (tend = *p; tend[-1] == ' ' || tend[-1] == '\t'; tend--)
		;
	*len = (size_t)(tend - tok);
	return tok;
}

int
httpmsg_connection_lists(const struct http_header *conn, const char *name, size_t len)
{
	const char *p, *tok;
	size_t n;

	if (conn == NULL)
		return 0;
	for (p = conn->value; (tok = httpmsg_list_next(&p, conn->value + conn->value_len, &n)) != NULL; )
		if (n == len && strncasecmp(tok, name, len) == 0)
			return 1;
	return 0;
}

static int
httpmsg_on_url(llhttp_t *p, const char *at, size_t len)
{
	struct http_ctx *ctx = p->data;

	if (ctx->head->target == NULL)
		ctx->head->target = at;
	ctx->head->target_len = (size_t)(at + len - ctx->head->target);
	return 0;
}

static int
httpmsg_on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct http_ctx *ctx = p->data;
	struct http_head *h = ctx->head;
	struct http_header *hdr;

	if (!ctx->in_value && h->nheaders > 0) {
		/* continuation of the same field name in a later span */
		hdr = &h->headers[h->nheaders - 1];
		if (hdr->name + hdr->name_len == at && hdr->value == NULL) {
			hdr->name_len += len;
			return 0;
		}
	}
	if (h->nheaders >= ctx->limits->max_headers || h->nheaders >= HTTP_MAX_HEADERS) {
		ctx->too_many = 1;
		return -1;
	}
	hdr = &h->headers[h->nheaders++];
	hdr->name = at;
	hdr->name_len = len;
	hdr->value = NULL;
	hdr->value_len = 0;
	ctx->in_value = 0;
	return 0;
}

static int
httpmsg_on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct http_ctx *ctx = p->data;
	struct http_header *hdr = &ctx->head->headers[ctx->head->nheaders - 1];

	if (hdr->value == NULL)
		hdr->value = at;
	hdr->value_len = (size_t)(at + len - hdr->value);
	ctx->in_value = 1;
	return 0;
}

static int
httpmsg_on_header_value_complete(llhttp_t *p)
{
	struct http_ctx *ctx = p->data;
	struct http_header *hdr = &ctx->head->headers[ctx->head->nheaders - 1];

	if (hdr->value == NULL)
		hdr->value = hdr->name + hdr->name_len;	/* empty value */
	ctx->in_value = 0;
	if (hdr->name_len == 17 && strncasecmp(hdr->name, "transfer-encoding", 17) == 0) {
		if (!(hdr->value_len == 7 && strncasecmp(hdr->value, "chunked", 7) == 0))
			ctx->te_other = 1;
		ctx->te_count++;
	}
	if (hdr->name_len == 14 && strncasecmp(hdr->name, "content-length", 14) == 0)
		ctx->cl_count++;
	if (hdr->name_len == 4 && strncasecmp(hdr->name, "host", 4) == 0)
		ctx->host_count++;
	if (ctx->bad_name == NULL)
		ctx->bad_name = httpmsg_name_error(hdr->name, hdr->name_len, ctx->head->is_response);
	return 0;
}

static int
httpmsg_on_headers_complete(llhttp_t *p)
{
	return HPE_PAUSED;
}

/*
 * The offset of the first byte at or after I (LEN if none) that the screen
 * must look at: control bytes (tab included, which the screen lets pass),
 * CR, LF and DEL.  Sixteen bytes a step with SSE2; elsewhere eight with
 * SWAR, where a word's mask has the high bit of its first such byte set
 * (bytes after the first may be flagged falsely, never the first one).
 */
#define HTTP_ONES	0x0101010101010101ULL
#define HTTP_HIGHS	0x8080808080808080ULL

static size_t
httpmsg_next_special(const char *buf, size_t i, size_t len)
{
#ifdef __SSE2__
	const __m128i ctl = _mm_set1_epi8(0x1f), del = _mm_set1_epi8(0x7f);
	__m128i v;
	unsigned int m;

	for (; len - i >= 16; i += 16) {
		v = _mm_loadu_si128((const __m128i *)(const void *)(buf + i));
		/* unsigned v <= 0x1f: min(v, 0x1f) == v */
		m = (unsigned int)_mm_movemask_epi8(_mm_or_si128(
		    _mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v), _mm_cmpeq_epi8(v, del)));
		if (m != 0)
			return i + (size_t)__builtin_ctz(m);
	}
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t x, y, m;

	for (; len - i >= 8; i += 8) {
		memcpy(&x, buf + i, sizeof(x));
		y = x ^ (HTTP_ONES * 0x7f);
		m = (((x - HTTP_ONES * 0x20) & ~x) | ((y - HTTP_ONES) & ~y)) & HTTP_HIGHS;
		if (m != 0)
			return i + (size_t)__builtin_ctzll(m) / 8;
	}
#endif
	for (; i < len; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			break;
	return i;
}

/*
 * Screens the head at the start of BUF for bytes a head may not hold and
 * line shapes that smuggle, up to and including the first blank line (what
 * follows it is body); *SCAN is set to the head's length with its blank
 * line, or LEN if there is none yet.
 */
static const char *
httpmsg_screen(const char *buf, size_t len, size_t *scan)
{
	size_t i = 0;
	unsigned char c;

	while ((i = httpmsg_next_special(buf, i, len)) < len) {
		c = (unsigned char)buf[i];
		if (c == '\n') {
			if (i == 0 || buf[i - 1] != '\r')
				return "bare LF line ending";
			if (i >= 3 && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
				*scan = i + 1;
				return NULL;
			}
			if (i + 1 < len && (buf[i + 1] == ' ' || buf[i + 1] == '\t'))
				return "obsolete line folding";
		} else if (c == '\r') {
			if (i + 1 < len && buf[i + 1] != '\n')
				return "bare CR";
		} else if ((c < 0x20 && c != '\t') || c == 0x7f)
			return "control byte in head";
		i++;
	}
	*scan = len;
	return NULL;
}

/*
 * The request target.  llhttp reads it a byte at a time through a lookup
 * table, and a presigned URL's query (300-400 bytes of X-Amz-*) is most of
 * a request head: it was half of llhttp's time per request.  In llhttp's
 * path state every visible ASCII byte but '?' and '#' leaves it in that
 * state, and in its query state every one but '#'; so where llhttp stands
 * in one of those two states, httpmsg steps over such a run itself, 16
 * bytes at a time, and feeds llhttp the byte that ends the run.  The URL
 * span just resumes after the gap: llhttp reports a span cut at the end of
 * each piece it is fed, and httpmsg_on_url measures the target from its
 * first byte, so target and target_len come out as before.
 *
 * Whether the llhttp linked in really stays put on each of those bytes is
 * asked of it once (httpmsg_url_states_init): the two states are whatever
 * llhttp's _current holds after "GET /a" and "GET /a?a", and every byte of
 * each run class must leave it there.  If anything differs, nothing is
 * skipped.  The head was screened before (httpmsg_screen) and llhttp still
 * sees every byte that is not plain, and the last byte of the head.
 */
static struct {
	pthread_once_t	 once;
	void		*path;		/* llhttp's _current in the target's path */
	void		*query;		/* ... and in its query */
	int		 off;		/* httpmsg_url_skip(0) */
} http_url = { PTHREAD_ONCE_INIT, NULL, NULL, 0 };

static void *
httpmsg_state_after(const char *req, size_t len)
{
	llhttp_settings_t settings;
	llhttp_t parser;

	llhttp_settings_init(&settings);
	llhttp_init(&parser, HTTP_REQUEST, &settings);
	if (llhttp_execute(&parser, req, len) != HPE_OK)
		return NULL;
	return parser._current;
}

static void
httpmsg_url_states_init(void)
{
	char req[16];
	void *path, *query;
	int c;

	path = httpmsg_state_after("GET /a", 6);
	query = httpmsg_state_after("GET /a?a", 8);
	if (path == NULL || query == NULL || path == query)
		return;
	for (c = 0x21; c < 0x7f; c++) {
		if (c == '#')
			continue;
		memcpy(req, "GET /a?a", 8);
		req[8] = (char)c;
		if (httpmsg_state_after(req, 9) != query)
			return;
		if (c == '?')
			continue;
		req[6] = (char)c;
		if (httpmsg_state_after(req, 7) != path)
			return;
	}
	http_url.path = path;
	http_url.query = query;
}

int
httpmsg_url_skip(int on)
{
	pthread_once(&http_url.once, httpmsg_url_states_init);
	if (on >= 0)
		http_url.off = !on;
	return !http_url.off && http_url.query != NULL;
}

/* The length of the run at P (at most LEN bytes) of bytes 0x21-0x7e but '#' and STOP. */
static size_t
httpmsg_url_run(const char *p, size_t len, char stop)
{
	size_t i = 0;
	unsigned char c;

#ifdef __SSE2__
	const __m128i space = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f);
	const __m128i hash = _mm_set1_epi8('#'), stopv = _mm_set1_epi8(stop);
	__m128i v, plain;
	unsigned int mask;

	for (; len - i >= 16; i += 16) {
		v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		/* signed compares: bytes from 0x80 are negative, so not plain */
		plain = _mm_and_si128(_mm_cmpgt_epi8(v, space), _mm_cmplt_epi8(v, del));
		plain = _mm_andnot_si128(_mm_or_si128(_mm_cmpeq_epi8(v, hash),
		    _mm_cmpeq_epi8(v, stopv)), plain);
		mask = (unsigned int)_mm_movemask_epi8(plain);
		if (mask != 0xffff)
			return i + (size_t)__builtin_ctz(~mask);
	}
#endif
	for (; i < len; i++) {
		c = (unsigned char)p[i];
		if (c <= 0x20 || c >= 0x7f || c == '#' || c == (unsigned char)stop)
			break;
	}
	return i;
}

/*
 * llhttp_execute over the request head BUF (LEN bytes, screened), stepping
 * over the plain runs of its target (above).
 */
static llhttp_errno_t
httpmsg_execute_request(llhttp_t *parser, const char *buf, size_t len)
{
	const char *sp;
	llhttp_errno_t err;
	size_t off, run;

	/* llhttp first reads the method, the space and the target's first byte */
	if ((sp = memchr(buf, ' ', len < 32 ? len : 32)) == NULL ||
	    (off = (size_t)(sp - buf) + 2) >= len)
		return llhttp_execute(parser, buf, len);
	err = llhttp_execute(parser, buf, off);
	while (err == HPE_OK) {
		if (parser->_current == http_url.path)
			run = httpmsg_url_run(buf + off, len - off, '?');
		else if (parser->_current == http_url.query)
			run = httpmsg_url_run(buf + off, len - off, '#');
		else
			break;
		/* llhttp reads the head's last byte: the target is measured to there */
		if (run >= len - off)
			run = len - off - 1;
		off += run;
		err = llhttp_execute(parser, buf + off, 1);
		if (++off == len)
			return err;
	}
	if (err != HPE_OK)
		return err;
	return llhttp_execute(parser, buf + off, len - off);
}

enum http_parse_status
httpmsg_parse_head(const char *buf, size_t len, int is_response,
    const struct http_limits *limits, struct http_head *head)
{
	llhttp_settings_t settings;
	struct http_ctx ctx;
	llhttp_t parser;
	llhttp_errno_t err;
	size_t scan;

	/* headers[] past nheaders is never read: not worth clearing 4 KiB twice a request */
	memset(head, 0, offsetof(struct http_head, headers));
	head->error = NULL;
	memset(&ctx, 0, sizeof(ctx));
	ctx.head = head;
	ctx.limits = limits;
	head->is_response = is_response;

	llhttp_settings_init(&settings);
	settings.on_url = httpmsg_on_url;
	settings.on_header_field = httpmsg_on_header_field;
	settings.on_header_value = httpmsg_on_header_value;
	settings.on_header_value_complete = httpmsg_on_header_value_complete;
	settings.on_headers_complete = httpmsg_on_headers_complete;
	llhttp_init(&parser, is_response ? HTTP_RESPONSE : HTTP_REQUEST, &settings);
	parser.data = &ctx;

	/* Only the head may be screened: what follows it is body. */
	if ((head->error = httpmsg_screen(buf, len, &scan)) != NULL)
		return HTTP_PARSE_BAD;

	if (!is_response && httpmsg_url_skip(-1))
		err = httpmsg_execute_request(&parser, buf, scan);
	else
		err = llhttp_execute(&parser, buf, scan);
	if (ctx.too_many) {
		head->error = "too many header fields";
		return HTTP_PARSE_TOO_LARGE;
	}
	if (!is_response && head->target_len > limits->max_uri) {
		head->error = "request target too long";
		return HTTP_PARSE_TOO_LARGE;
	}
	if (err == HPE_OK) {
		if (len >= limits->max_head) {
			head->error = "request head too large";
			return HTTP_PARSE_TOO_LARGE;
		}
		/*
		 * The screen found the blank line that ends a head, and llhttp
		 * still wants more: HTTP/2's connection preface ("PRI *
		 * HTTP/2.0", then "SM"), which llhttp reads on past that line.
		 * Waiting for the rest left the client without an answer until
		 * head_timeout.
		 */
		if (scan >= 4 && memcmp(buf + scan - 4, "\r\n\r\n", 4) == 0) {
			head->error = "an HTTP/2 connection preface (this port speaks HTTP/1.1)";
			return HTTP_PARSE_BAD;
		}
		return HTTP_PARSE_MORE;
	}
	if (err != HPE_PAUSED) {
		head->error = llhttp_get_error_reason(&parser);
		if (head->error == NULL)
			head->error = llhttp_errno_name(err);
		return HTTP_PARSE_BAD;
	}
	head->head_len = (size_t)(llhttp_get_error_pos(&parser) - buf);
	if (head->head_len > scan || head->head_len > limits->max_head) {
		head->error = "request head too large";
		return HTTP_PARSE_TOO_LARGE;
	}
	if (ctx.te_other) {
		head->error = "unsupported Transfer-Encoding";
		return HTTP_PARSE_BAD;
	}
	if (ctx.te_count > 1) {
		/* "chunked, chunked": llhttp refuses it in a request only */
		head->error = "more than one Transfer-Encoding";
		return HTTP_PARSE_BAD;
	}
	if (ctx.cl_count > 1) {
		head->error = "more than one Content-Length";
		return HTTP_PARSE_BAD;
	}
	if (!is_response && ctx.host_count > 1) {
		head->error = "more than one Host";
		return HTTP_PARSE_BAD;
	}
	if (ctx.bad_name != NULL) {
		head->error = ctx.bad_name;
		return HTTP_PARSE_BAD;
	}
	if (!is_response && httpmsg_repeated(head) != NULL) {
		head->error = "a repeated header that S3 reads as one value (x-amz-*, Authorization, "
		    "Content-MD5, Content-Type, Range, Date, If-*)";
		return HTTP_PARSE_BAD;
	}
	if (!is_response && httpmsg_connection_bad(head)) {
		head->error = "Connection names a header s3gate must forward (Content-Length, "
		    "Transfer-Encoding, Host, Expect, Authorization, Content-*, x-amz-*)";
		return HTTP_PARSE_BAD;
	}
	if (!is_response) {
		head->method = llhttp_method_name((llhttp_method_t)parser.method);
		head->method_len = strlen(head->method);
		if (head->target == NULL) {
			head->error = "no request target";
			return HTTP_PARSE_BAD;
		}
	} else {
		head->status = parser.status_code;
		/*
		 * llhttp takes "20", "999", and 0 from "HTTP/1.1  200", which
		 * would go to the client as they came.  A 101 switches the
		 * connection to another protocol, and s3gate never asks for one
		 * (Upgrade is not forwarded): what follows it is not an answer.
		 */
		if (head->status < 100 || head->status > 599) {
			head->error = "a status code outside 100-599";
			return HTTP_PARSE_BAD;
		}
		if (head->status == 101) {
			head->error = "101 Switching Protocols, never asked for";
			return HTTP_PARSE_BAD;
		}
	}
	head->http_minor = parser.http_minor;
	if (parser.http_major != 1) {
		head->error = "not HTTP/1.x";
		return HTTP_PARSE_BAD;
	}
	head->keep_alive = llhttp_should_keep_alive(&parser);
	head->chunked = (parser.flags & F_CHUNKED) != 0;
	head->has_content_length = (parser.flags & F_CONTENT_LENGTH) != 0;
	if (head->has_content_length)
		head->content_length = parser.content_length;
	{
		const struct http_header *e = httpmsg_header_find(head, "expect");
		if (e != NULL) {
			if (e->value_len == 12 && strncasecmp(e->value, "100-continue", 12) == 0)
				head->expect_continue = 1;
		}
	}
	return HTTP_PARSE_DONE;
}

const struct http_header *
httpmsg_header_find(const struct http_head *head, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < head->nheaders; i++)
		if (head->headers[i].name_len == n && strncasecmp(head->headers[i].name, name, n) == 0)
			return &head->headers[i];
	return NULL;
}

enum {
	TRK_SIZE,	/* hex digits */
	TRK_EXT,	/* ";ext" up to CR */
	TRK_SIZE_LF,
	TRK_DATA,
	TRK_DATA_CR,
	TRK_DATA_LF,
	TRK_TRAILER,	/* at the start of a trailer line (or the final CRLF) */
	TRK_TRAILER_LINE,
	TRK_TRAILER_LF,
	TRK_FINAL_LF,
};

#define TRK_MAX_LINE	4096
#define TRK_MAX_TRAILER	16384

void
httpmsg_body_tracker_init(struct http_body_tracker *t)
{
	memset(t, 0, sizeof(*t));
	t->state = TRK_SIZE;
}

/* The framing state machine; with OUT, the data bytes are copied there too. */
static long
httpmsg_tracker_run(struct http_body_tracker *t, const char *buf, size_t len, char *out,
    size_t *produced)
{
	size_t i = 0;
	int v;

	while (i < len && !t->complete) {
		char c = buf[i];

		switch (t->state) {
		case TRK_SIZE:
			if ((v = uri_hexval(c)) >= 0) {
				if (++t->digits > 16)
					return -1;
				t->remaining = t->remaining * 16 + (uint64_t)v;
			} else if (t->digits == 0) {
				return -1;
			} else if (c == ';') {
				t->state = TRK_EXT;
				t->line_len = 0;
			} else if (c == '\r') {
				t->state = TRK_SIZE_LF;
			} else
				return -1;
			i++;
			break;
		case TRK_EXT:
			if (c == '\r')
				t->state = TRK_SIZE_LF;
			else if (c == '\n' || ++t->line_len > TRK_MAX_LINE)
				return -1;
			i++;
			break;
		case TRK_SIZE_LF:
			if (c != '\n')
				return -1;
			i++;
			t->digits = 0;
			t->state = t->remaining == 0 ? TRK_TRAILER : TRK_DATA;
			break;
		case TRK_DATA: {
			size_t take = len - i;
			if ((uint64_t)take > t->remaining)
				take = (size_t)t->remaining;
			t->remaining -= take;
			if (out != NULL) {
				memmove(out + *produced, buf + i, take);
				*produced += take;
			}
			i += take;
			if (t->remaining == 0)
				t->state = TRK_DATA_CR;
			break;
		}
		case TRK_DATA_CR:
			if (c != '\r')
				return -1;
			t->state = TRK_DATA_LF;
			i++;
			break;
		case TRK_DATA_LF:
			if (c != '\n')
				return -1;
			t->state = TRK_SIZE;
			i++;
			break;
		case TRK_TRAILER:
			if (c == '\r')
				t->state = TRK_FINAL_LF;
			else if (c == '\n')
				return -1;
			else {
				t->state = TRK_TRAILER_LINE;
				t->line_len = 1;
			}
			if (++t->trailer_len > TRK_MAX_TRAILER)
				return -1;
			i++;
			break;
		case TRK_TRAILER_LINE:
			if (c == '\r')
				t->state = TRK_TRAILER_LF;
			else if (c == '\n' || ++t->line_len > TRK_MAX_LINE)
				return -1;
			if (++t->trailer_len > TRK_MAX_TRAILER)
				return -1;
			i++;
			break;
		case TRK_TRAILER_LF:
			if (c != '\n')
				return -1;
			t->state = TRK_TRAILER;
			i++;
			break;
		case TRK_FINAL_LF:
			if (c != '\n')
				return -1;
			t->complete = 1;
			i++;
			break;
		}
	}
	return (long)i;
}

long
httpmsg_body_tracker_feed(struct http_body_tracker *t, const char *buf, size_t len)
{
	return httpmsg_tracker_run(t, buf, len, NULL, NULL);
}

long
httpmsg_body_tracker_decode(struct http_body_tracker *t, char *buf, size_t len, size_t *produced)
{
	*produced = 0;
	return httpmsg_tracker_run(t, buf, len, buf, produced);
}
