/*
 * imgsrv.h - a read-only registry (the OCI distribution spec's pull side)
 * over OCI image-layout tar archives, served by ezk on the deploy node while
 * a run needs it, so that hosts pull the images of $EZK_HOME/images with
 * containerd instead of receiving them over their SSH sessions.
 *
 *     struct imgsrv *s = imgsrv_start("198.18.0.1");   // port chosen by the kernel
 *     imgsrv_add(s, "images/pause_3.10.tar");          // scanned once
 *     printf("http://198.18.0.1:%d\n", imgsrv_port(s));
 *     ...                                                // hosts pull
 *     imgsrv_stop(s);
 *
 * What it answers (HTTP/1.1, one request a connection, a thread a
 * connection):
 * - GET /v2/: 200, Docker-Distribution-API-Version: registry/2.0;
 * - GET|HEAD /v2/<repo>/manifests/<tag>: the archive whose image name
 *   (io.containerd.image.name, any registry host) is <repo>:<tag>: its
 *   index.json's one descriptor, served with that descriptor's media type
 *   and Docker-Content-Digest;
 * - GET|HEAD /v2/<repo>/manifests/<digest> and /v2/<repo>/blobs/<digest>: a
 *   blob of any archive added, straight from the archive's bytes (sendfile;
 *   Range: bytes=N- answered with 206), a manifest with the media type its
 *   JSON names;
 * - anything else: 404 (405 for a method other than GET and HEAD).
 * Nothing is written or pushed, nothing read outside the archives added.
 * The client checks every byte against its digest (containerd does).
 *
 * Thread-safe: hosts' workers add archives and read the port concurrently.
 */
#ifndef EZK_IMGSRV_H
#define EZK_IMGSRV_H

struct imgsrv;

/* Listen on addr (a numeric IPv4 or IPv6 address), a port of the kernel's
 * choice. NULL with ezk_err set when it cannot. */
struct imgsrv *imgsrv_start(const char *addr);
/* Serve the image of the OCI archive at path (uncompressed tar, as ezk
 * download and scripts/bin-from-debian.sh write them): 0, 1 when it was
 * served already, -1 with ezk_err set (not an archive, its name taken by
 * another archive's image). */
int imgsrv_add(struct imgsrv *s, const char *path);
int imgsrv_port(const struct imgsrv *s);
/* Requests answered with 200 or 206 so far (for tests and -v). */
unsigned long imgsrv_served(struct imgsrv *s);
/* Stop listening, end the connections, free. NULL is fine. */
void imgsrv_stop(struct imgsrv *s);

#endif
