/*
 * dfab: a thin C shim over libfabric for daos-rs.
 *
 * Most fi_* calls are `static inline` in libfabric's headers, so Rust cannot link to them
 * directly. This file gives each call we use a real symbol and keeps every libfabric struct
 * on the C side: Rust only sees opaque pointers, integers and the flat `dfab_completion`.
 *
 * Ownership: a `dfab_fabric` owns the fabric, domain and the fi_info it was opened with.
 * A `dfab_ep` owns its endpoint, completion queue and address vector. Operation contexts
 * (`ctx`) are memory owned by the caller, at least DFAB_CONTEXT_SIZE bytes, which must stay
 * valid and unmoved until the operation's completion (or error completion) is read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_eq.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>
#include <rdma/fi_tagged.h>

#include "dfab.h"

struct dfab_fabric {
	struct fi_info *info;
	struct fid_fabric *fabric;
	struct fid_domain *domain;
};

struct dfab_ep {
	struct dfab_fabric *fab;
	struct fi_info *info; /* endpoint-specific info (source address), owned */
	struct fid_ep *ep;
	struct fid_cq *cq;
	struct fid_av *av;
};

static void set_err(char *errbuf, size_t errlen, const char *what, int rc)
{
	if (errbuf != NULL && errlen > 0)
		snprintf(errbuf, errlen, "%s: %s (%d)", what, fi_strerror(-rc), rc);
}

static struct fi_info *make_hints(const char *provider)
{
	struct fi_info *hints = fi_allocinfo();

	if (hints == NULL)
		return NULL;
	hints->ep_attr->type = FI_EP_RDM;
	hints->caps = FI_MSG | FI_TAGGED | FI_RMA | FI_READ | FI_WRITE | FI_RECV | FI_SEND |
		      FI_REMOTE_READ | FI_REMOTE_WRITE;
	/* We pass a 64-byte context per operation, so both context modes are acceptable. */
	hints->mode = FI_CONTEXT | FI_CONTEXT2;
	hints->domain_attr->mr_mode = FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED |
				      FI_MR_PROV_KEY;
	hints->domain_attr->threading = FI_THREAD_SAFE;
	hints->domain_attr->data_progress = FI_PROGRESS_MANUAL;
	hints->domain_attr->control_progress = FI_PROGRESS_AUTO;
	hints->tx_attr->msg_order = FI_ORDER_SAS;
	hints->rx_attr->msg_order = FI_ORDER_SAS;
	if (provider != NULL && provider[0] != '\0') {
		hints->fabric_attr->prov_name = strdup(provider);
		if (hints->fabric_attr->prov_name == NULL) {
			fi_freeinfo(hints);
			return NULL;
		}
	}
	return hints;
}

int dfab_fabric_open(const char *provider, const char *node, struct dfab_fabric **out,
		     char *errbuf, size_t errlen)
{
	struct dfab_fabric *fab;
	struct fi_info *hints;
	int rc;

	if (out == NULL)
		return -FI_EINVAL;
	fab = calloc(1, sizeof(*fab));
	hints = make_hints(provider);
	if (fab == NULL || hints == NULL) {
		free(fab);
		fi_freeinfo(hints);
		set_err(errbuf, errlen, "allocation", -FI_ENOMEM);
		return -FI_ENOMEM;
	}
	rc = fi_getinfo(FI_VERSION(1, 17), node, NULL, node != NULL ? FI_SOURCE : 0, hints,
			&fab->info);
	fi_freeinfo(hints);
	if (rc != 0) {
		set_err(errbuf, errlen, "fi_getinfo", rc);
		free(fab);
		return rc;
	}
	rc = fi_fabric(fab->info->fabric_attr, &fab->fabric, NULL);
	if (rc != 0) {
		set_err(errbuf, errlen, "fi_fabric", rc);
		goto fail;
	}
	rc = fi_domain(fab->fabric, fab->info, &fab->domain, NULL);
	if (rc != 0) {
		set_err(errbuf, errlen, "fi_domain", rc);
		goto fail;
	}
	*out = fab;
	return 0;
fail:
	dfab_fabric_close(fab);
	return rc;
}

void dfab_fabric_close(struct dfab_fabric *fab)
{
	if (fab == NULL)
		return;
	if (fab->domain != NULL)
		fi_close(&fab->domain->fid);
	if (fab->fabric != NULL)
		fi_close(&fab->fabric->fid);
	if (fab->info != NULL)
		fi_freeinfo(fab->info);
	free(fab);
}

void dfab_fabric_attrs(const struct dfab_fabric *fab, struct dfab_attrs *attrs)
{
	const struct fi_info *info = fab->info;

	memset(attrs, 0, sizeof(*attrs));
	attrs->mr_mode = (uint64_t)info->domain_attr->mr_mode;
	attrs->mode = info->mode;
	attrs->caps = info->caps;
	attrs->inject_size = info->tx_attr->inject_size;
	attrs->max_msg_size = info->ep_attr->max_msg_size;
	attrs->mr_key_size = info->domain_attr->mr_key_size;
	attrs->addr_format = info->addr_format;
	snprintf(attrs->provider, sizeof(attrs->provider), "%s", info->fabric_attr->prov_name);
	snprintf(attrs->domain, sizeof(attrs->domain), "%s", info->domain_attr->name);
}

int dfab_ep_open(struct dfab_fabric *fab, const char *node, const char *service,
		 struct dfab_ep **out, char *errbuf, size_t errlen)
{
	struct fi_cq_attr cq_attr = {0};
	struct fi_av_attr av_attr = {0};
	struct dfab_ep *ep;
	struct fi_info *hints;
	int rc;

	ep = calloc(1, sizeof(*ep));
	if (ep == NULL)
		return -FI_ENOMEM;
	ep->fab = fab;
	/*
	 * Resolve a source address for this endpoint on the same provider and domain. Every
	 * endpoint gets its own fi_getinfo so that providers which name endpoints themselves
	 * (shm) hand out a fresh name, and tcp binds the requested (or an ephemeral) port.
	 */
	hints = fi_dupinfo(fab->info);
	if (hints == NULL) {
		free(ep);
		return -FI_ENOMEM;
	}
	free(hints->src_addr);
	hints->src_addr = NULL;
	hints->src_addrlen = 0;
	free(hints->dest_addr);
	hints->dest_addr = NULL;
	hints->dest_addrlen = 0;
	rc = fi_getinfo(FI_VERSION(1, 17), node, service, (node != NULL || service != NULL) ? FI_SOURCE : 0,
			hints, &ep->info);
	fi_freeinfo(hints);
	if (rc != 0) {
		set_err(errbuf, errlen, "fi_getinfo(endpoint)", rc);
		free(ep);
		return rc;
	}

	cq_attr.format = FI_CQ_FORMAT_TAGGED;
	cq_attr.wait_obj = FI_WAIT_FD;
	cq_attr.size = 0;
	rc = fi_cq_open(fab->domain, &cq_attr, &ep->cq, NULL);
	if (rc == -FI_ENOSYS || rc == -FI_EINVAL) {
		/* Providers without FD wait objects still work; callers then poll. */
		cq_attr.wait_obj = FI_WAIT_NONE;
		rc = fi_cq_open(fab->domain, &cq_attr, &ep->cq, NULL);
	}
	if (rc != 0) {
		set_err(errbuf, errlen, "fi_cq_open", rc);
		goto fail;
	}
	av_attr.type = FI_AV_TABLE;
	rc = fi_av_open(fab->domain, &av_attr, &ep->av, NULL);
	if (rc != 0) {
		set_err(errbuf, errlen, "fi_av_open", rc);
		goto fail;
	}
	rc = fi_endpoint(fab->domain, ep->info, &ep->ep, NULL);
	if (rc != 0) {
		set_err(errbuf, errlen, "fi_endpoint", rc);
		goto fail;
	}
	rc = fi_ep_bind(ep->ep, &ep->cq->fid, FI_TRANSMIT | FI_RECV);
	if (rc == 0)
		rc = fi_ep_bind(ep->ep, &ep->av->fid, 0);
	if (rc != 0) {
		set_err(errbuf, errlen, "fi_ep_bind", rc);
		goto fail;
	}
	rc = fi_enable(ep->ep);
	if (rc != 0) {
		set_err(errbuf, errlen, "fi_enable", rc);
		goto fail;
	}
	*out = ep;
	return 0;
fail:
	dfab_ep_close(ep);
	return rc;
}

void dfab_ep_close(struct dfab_ep *ep)
{
	if (ep == NULL)
		return;
	if (ep->ep != NULL)
		fi_close(&ep->ep->fid);
	if (ep->av != NULL)
		fi_close(&ep->av->fid);
	if (ep->cq != NULL)
		fi_close(&ep->cq->fid);
	if (ep->info != NULL)
		fi_freeinfo(ep->info);
	free(ep);
}

int dfab_ep_getname(struct dfab_ep *ep, void *buf, size_t *len)
{
	return fi_getname(&ep->ep->fid, buf, len);
}

int dfab_ep_wait_fd(struct dfab_ep *ep)
{
	int fd = -1;
	int rc = fi_control(&ep->cq->fid, FI_GETWAIT, &fd);

	return rc == 0 ? fd : rc;
}

int dfab_ep_trywait(struct dfab_ep *ep)
{
	struct fid *fids[1] = {&ep->cq->fid};

	return fi_trywait(ep->fab->fabric, fids, 1);
}

int dfab_av_insert(struct dfab_ep *ep, const void *addr, uint64_t *fi_addr)
{
	fi_addr_t out = FI_ADDR_NOTAVAIL;
	int n = fi_av_insert(ep->av, addr, 1, &out, 0, NULL);

	if (n != 1)
		return n < 0 ? n : -FI_EINVAL;
	*fi_addr = out;
	return 0;
}

int dfab_av_remove(struct dfab_ep *ep, uint64_t fi_addr)
{
	fi_addr_t addr = fi_addr;

	return fi_av_remove(ep->av, &addr, 1, 0);
}

ssize_t dfab_trecv(struct dfab_ep *ep, void *buf, size_t len, void *desc, uint64_t tag,
		   uint64_t ignore, void *ctx)
{
	return fi_trecv(ep->ep, buf, len, desc, FI_ADDR_UNSPEC, tag, ignore, ctx);
}

ssize_t dfab_tsendv(struct dfab_ep *ep, const struct dfab_iov *iov, size_t count, uint64_t dest,
		    uint64_t tag, void *ctx)
{
	struct iovec iovs[DFAB_IOV_MAX];
	void *descs[DFAB_IOV_MAX];
	size_t i;

	if (count == 0 || count > DFAB_IOV_MAX)
		return -FI_EINVAL;
	if (count == 1)
		return fi_tsend(ep->ep, iov[0].base, iov[0].len, iov[0].desc, dest, tag, ctx);
	for (i = 0; i < count; i++) {
		iovs[i].iov_base = iov[i].base;
		iovs[i].iov_len = iov[i].len;
		descs[i] = iov[i].desc;
	}
	return fi_tsendv(ep->ep, iovs, descs, count, dest, tag, ctx);
}

ssize_t dfab_tinject(struct dfab_ep *ep, const void *buf, size_t len, uint64_t dest, uint64_t tag)
{
	return fi_tinject(ep->ep, buf, len, dest, tag);
}

ssize_t dfab_read(struct dfab_ep *ep, void *buf, size_t len, void *desc, uint64_t src,
		  uint64_t addr, uint64_t key, void *ctx)
{
	return fi_read(ep->ep, buf, len, desc, src, addr, key, ctx);
}

ssize_t dfab_write(struct dfab_ep *ep, const void *buf, size_t len, void *desc, uint64_t dest,
		   uint64_t addr, uint64_t key, void *ctx)
{
	return fi_write(ep->ep, buf, len, desc, dest, addr, key, ctx);
}

int dfab_cancel(struct dfab_ep *ep, void *ctx)
{
	return (int)fi_cancel(&ep->ep->fid, ctx);
}

int dfab_mr_reg(struct dfab_fabric *fab, const void *buf, size_t len, uint64_t access,
		uint64_t requested_key, struct fid_mr **mr, uint64_t *key, void **desc)
{
	int rc = fi_mr_reg(fab->domain, buf, len, access, 0, requested_key, 0, mr, NULL);

	if (rc != 0)
		return rc;
	*key = fi_mr_key(*mr);
	*desc = fi_mr_desc(*mr);
	return 0;
}

int dfab_mr_close(struct fid_mr *mr)
{
	return fi_close(&mr->fid);
}

ssize_t dfab_cq_read(struct dfab_ep *ep, struct dfab_completion *out, size_t count)
{
	struct fi_cq_tagged_entry entries[DFAB_CQ_BATCH];
	struct fi_cq_err_entry err = {0};
	ssize_t n;
	ssize_t i;

	if (count > DFAB_CQ_BATCH)
		count = DFAB_CQ_BATCH;
	n = fi_cq_read(ep->cq, entries, count);
	if (n == -FI_EAGAIN)
		return 0;
	if (n == -FI_EAVAIL) {
		n = fi_cq_readerr(ep->cq, &err, 0);
		if (n < 0)
			return n;
		memset(&out[0], 0, sizeof(out[0]));
		out[0].op_context = err.op_context;
		out[0].flags = err.flags;
		out[0].len = err.len;
		out[0].tag = err.tag;
		out[0].err = err.err != 0 ? err.err : FI_EOTHER;
		out[0].prov_errno = err.prov_errno;
		out[0].olen = err.olen;
		return 1;
	}
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		out[i].op_context = entries[i].op_context;
		out[i].flags = entries[i].flags;
		out[i].len = entries[i].len;
		out[i].tag = entries[i].tag;
		out[i].err = 0;
		out[i].prov_errno = 0;
		out[i].olen = 0;
	}
	return n;
}

const char *dfab_strerror(int rc)
{
	return fi_strerror(rc < 0 ? -rc : rc);
}

uint64_t dfab_const(int which)
{
	switch (which) {
	case DFAB_CONST_MR_LOCAL:
		return FI_MR_LOCAL;
	case DFAB_CONST_MR_VIRT_ADDR:
		return FI_MR_VIRT_ADDR;
	case DFAB_CONST_MR_PROV_KEY:
		return FI_MR_PROV_KEY;
	case DFAB_CONST_MR_ALLOCATED:
		return FI_MR_ALLOCATED;
	case DFAB_CONST_READ:
		return FI_READ;
	case DFAB_CONST_WRITE:
		return FI_WRITE;
	case DFAB_CONST_REMOTE_READ:
		return FI_REMOTE_READ;
	case DFAB_CONST_REMOTE_WRITE:
		return FI_REMOTE_WRITE;
	case DFAB_CONST_SEND:
		return FI_SEND;
	case DFAB_CONST_RECV:
		return FI_RECV;
	case DFAB_CONST_RMA:
		return FI_RMA;
	case DFAB_CONST_ADDR_NOTAVAIL:
		return FI_ADDR_NOTAVAIL;
	case DFAB_CONST_ECANCELED:
		return FI_ECANCELED;
	case DFAB_CONST_ETRUNC:
		return FI_ETRUNC;
	case DFAB_CONST_EAGAIN:
		return FI_EAGAIN;
	default:
		return 0;
	}
}
