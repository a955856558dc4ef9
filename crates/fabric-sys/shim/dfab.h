/* dfab: the C shim between daos-rs and libfabric. See dfab.c for ownership rules. */
#ifndef DFAB_H
#define DFAB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct dfab_fabric;
struct dfab_ep;
struct fid_mr;

/* Bytes the caller reserves per operation context (the size of struct fi_context2). */
#define DFAB_CONTEXT_SIZE 64
#define DFAB_IOV_MAX 4
#define DFAB_CQ_BATCH 64

struct dfab_iov {
	void *base;
	size_t len;
	void *desc;
};

struct dfab_completion {
	void *op_context;
	uint64_t flags;
	size_t len;
	uint64_t tag;
	int err;        /* positive FI_E* code, 0 on success */
	int prov_errno;
	size_t olen;    /* bytes that did not fit, for truncation errors */
};

struct dfab_attrs {
	uint64_t mr_mode;
	uint64_t mode;
	uint64_t caps;
	size_t inject_size;
	size_t max_msg_size;
	size_t mr_key_size;
	uint32_t addr_format;
	char provider[64];
	char domain[64];
};

enum {
	DFAB_CONST_MR_LOCAL = 1,
	DFAB_CONST_MR_VIRT_ADDR,
	DFAB_CONST_MR_PROV_KEY,
	DFAB_CONST_MR_ALLOCATED,
	DFAB_CONST_READ,
	DFAB_CONST_WRITE,
	DFAB_CONST_REMOTE_READ,
	DFAB_CONST_REMOTE_WRITE,
	DFAB_CONST_SEND,
	DFAB_CONST_RECV,
	DFAB_CONST_RMA,
	DFAB_CONST_ADDR_NOTAVAIL,
	DFAB_CONST_ECANCELED,
	DFAB_CONST_ETRUNC,
	DFAB_CONST_EAGAIN,
};

int dfab_fabric_open(const char *provider, const char *node, struct dfab_fabric **out,
		     char *errbuf, size_t errlen);
void dfab_fabric_close(struct dfab_fabric *fab);
void dfab_fabric_attrs(const struct dfab_fabric *fab, struct dfab_attrs *attrs);

int dfab_ep_open(struct dfab_fabric *fab, const char *node, const char *service,
		 struct dfab_ep **out, char *errbuf, size_t errlen);
void dfab_ep_close(struct dfab_ep *ep);
int dfab_ep_getname(struct dfab_ep *ep, void *buf, size_t *len);
int dfab_ep_wait_fd(struct dfab_ep *ep);
int dfab_ep_trywait(struct dfab_ep *ep);

int dfab_av_insert(struct dfab_ep *ep, const void *addr, uint64_t *fi_addr);
int dfab_av_remove(struct dfab_ep *ep, uint64_t fi_addr);

ssize_t dfab_trecv(struct dfab_ep *ep, void *buf, size_t len, void *desc, uint64_t tag,
		   uint64_t ignore, void *ctx);
ssize_t dfab_tsendv(struct dfab_ep *ep, const struct dfab_iov *iov, size_t count, uint64_t dest,
		    uint64_t tag, void *ctx);
ssize_t dfab_tinject(struct dfab_ep *ep, const void *buf, size_t len, uint64_t dest, uint64_t tag);
ssize_t dfab_read(struct dfab_ep *ep, void *buf, size_t len, void *desc, uint64_t src,
		  uint64_t addr, uint64_t key, void *ctx);
ssize_t dfab_write(struct dfab_ep *ep, const void *buf, size_t len, void *desc, uint64_t dest,
		   uint64_t addr, uint64_t key, void *ctx);
int dfab_cancel(struct dfab_ep *ep, void *ctx);

int dfab_mr_reg(struct dfab_fabric *fab, const void *buf, size_t len, uint64_t access,
		uint64_t requested_key, struct fid_mr **mr, uint64_t *key, void **desc);
int dfab_mr_close(struct fid_mr *mr);

ssize_t dfab_cq_read(struct dfab_ep *ep, struct dfab_completion *out, size_t count);
const char *dfab_strerror(int rc);
uint64_t dfab_const(int which);

#endif
