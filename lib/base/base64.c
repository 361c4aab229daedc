/*
 * base64.c: RFC 4648 base64 (see base64.h).
 */
#include "base64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int decode_char(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int base64_decode(struct strbuf *out, const char *in, size_t len)
{
    unsigned int acc = 0;
    int bits = 0;
    size_t nchars = 0, pad = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        int v = decode_char(c);
        if (v < 0 || pad)
            return -1;
        nchars++;
        acc = (acc << 6) | (unsigned int)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            strbuf_addch(out, (char)((acc >> bits) & 0xff));
        }
    }
    /* a lone character in the last quantum (6 leftover bits) carries no byte */
    if (bits >= 6)
        return -1;
    /* padding may only complete a short last quantum: "Zg==", "Zg=", "Zm8=" */
    if (pad && (nchars % 4 < 2 || nchars % 4 + pad > 4))
        return -1;
    return 0;
}

void base64_encode(struct strbuf *out, const void *in, size_t len)
{
    const unsigned char *p = in;
    size_t i = 0;
    for (; i + 2 < len; i += 3) {
        unsigned int v = (unsigned int)p[i] << 16 | (unsigned int)p[i + 1] << 8 | p[i + 2];
        strbuf_addch(out, alphabet[v >> 18]);
        strbuf_addch(out, alphabet[(v >> 12) & 63]);
        strbuf_addch(out, alphabet[(v >> 6) & 63]);
        strbuf_addch(out, alphabet[v & 63]);
    }
    if (i < len) {
        unsigned int v = (unsigned int)p[i] << 16;
        if (i + 1 < len)
            v |= (unsigned int)p[i + 1] << 8;
        strbuf_addch(out, alphabet[v >> 18]);
        strbuf_addch(out, alphabet[(v >> 12) & 63]);
        strbuf_addch(out, i + 1 < len ? alphabet[(v >> 6) & 63] : '=');
        strbuf_addch(out, '=');
    }
}
