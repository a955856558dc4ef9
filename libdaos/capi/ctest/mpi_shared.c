/*
 * mpi_shared: the IOR/ROMIO sharing pattern across processes. Rank 0 initialises DAOS,
 * connects the pool, opens the container, mounts DFS and creates one file; it exports the
 * pool, container, mount and file handles with the two-pass *_local2global protocol and
 * broadcasts them. The other ranks import them with *_global2local. Every rank writes a
 * disjoint 1 MiB part of the shared file, then (after a barrier) reads the whole file back
 * and checks every byte.
 *
 * Environment: DAOS_POOL and DAOS_CONT (a POSIX container; defaults "ctest" and "posix").
 */
#include <daos.h>
#include <daos_fs.h>
#include <fcntl.h>
#include <mpi.h>
#include <sys/stat.h>

#include "ctest_util.h"

#define PART (1024 * 1024)

static int rank, nranks;

#undef CT_FAIL
#define CT_FAIL(fmt, ...)                                                                   \
	do {                                                                                \
		fprintf(stderr, "rank %d: %s:%d: FAILED: " fmt "\n", rank, __FILE__, __LINE__,   \
			##__VA_ARGS__);                                                     \
		fflush(stderr);                                                             \
		MPI_Abort(MPI_COMM_WORLD, 1);                                               \
	} while (0)

/* Rank 0 exports with a size pass and a data pass; everyone receives the bytes. */
static void share(int (*export_fn)(void *ctx, d_iov_t *glob), void *ctx, d_iov_t *glob)
{
	uint64_t len = 0;

	memset(glob, 0, sizeof(*glob));
	if (rank == 0) {
		CHECK_RC(export_fn(ctx, glob), 0);
		CHECK(glob->iov_buf_len > 0);
		len           = glob->iov_buf_len;
		glob->iov_buf = malloc(len);
		CHECK(glob->iov_buf != NULL);
		CHECK_RC(export_fn(ctx, glob), 0);
		CHECK(glob->iov_len == len);
	}
	CHECK(MPI_Bcast(&len, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD) == MPI_SUCCESS);
	if (rank != 0) {
		glob->iov_buf     = malloc(len);
		glob->iov_buf_len = len;
		glob->iov_len     = len;
		CHECK(glob->iov_buf != NULL);
	}
	CHECK(MPI_Bcast(glob->iov_buf, (int)len, MPI_BYTE, 0, MPI_COMM_WORLD) == MPI_SUCCESS);
}

struct ctx {
	daos_handle_t poh, coh;
	dfs_t        *dfs;
	dfs_obj_t    *file;
};

static int export_pool(void *c, d_iov_t *g)
{
	return daos_pool_local2global(((struct ctx *)c)->poh, g);
}

static int export_cont(void *c, d_iov_t *g)
{
	return daos_cont_local2global(((struct ctx *)c)->coh, g);
}

static int export_dfs(void *c, d_iov_t *g)
{
	return dfs_local2global(((struct ctx *)c)->dfs, g);
}

static int export_file(void *c, d_iov_t *g)
{
	struct ctx *x = c;

	return dfs_obj_local2global(x->dfs, x->file, g);
}

int main(int argc, char **argv)
{
	struct ctx  x;
	d_iov_t     gpool, gcont, gdfs, gfile;
	const char *pool = ct_env("DAOS_POOL", "ctest");
	const char *cont = ct_env("DAOS_CONT", "posix");
	char        name[128];
	char       *buf;
	d_iov_t     iov;
	d_sg_list_t sgl;
	daos_size_t rs, size;
	long        bad;
	int         r;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &nranks);

	CHECK_OK(daos_init());
	memset(&x, 0, sizeof(x));
	/* the file name comes from rank 0 (the pid differs per rank) */
	if (rank == 0)
		snprintf(name, sizeof(name), "mpi_shared_%s", ct_tag());
	CHECK(MPI_Bcast(name, sizeof(name), MPI_CHAR, 0, MPI_COMM_WORLD) == MPI_SUCCESS);

	if (rank == 0) {
		CHECK_OK(daos_pool_connect(pool, NULL, DAOS_PC_RW, &x.poh, NULL, NULL));
		CHECK_OK(daos_cont_open(x.poh, cont, DAOS_COO_RW, &x.coh, NULL, NULL));
		CHECK_DFS(dfs_mount(x.poh, x.coh, O_RDWR, &x.dfs));
		CHECK_DFS(dfs_open(x.dfs, NULL, name, S_IFREG | 0644, O_CREAT | O_EXCL | O_RDWR, 0,
				   0, NULL, &x.file));
	}
	share(export_pool, &x, &gpool);
	share(export_cont, &x, &gcont);
	share(export_dfs, &x, &gdfs);
	share(export_file, &x, &gfile);
	if (rank != 0) {
		CHECK_OK(daos_pool_global2local(gpool, &x.poh));
		CHECK_OK(daos_cont_global2local(x.poh, gcont, &x.coh));
		CHECK_DFS(dfs_global2local(x.poh, x.coh, 0, gdfs, &x.dfs));
		CHECK_DFS(dfs_obj_global2local(x.dfs, 0, gfile, &x.file));
	}

	/* each rank writes its own 1 MiB */
	buf = malloc((size_t)PART * (size_t)nranks);
	CHECK(buf != NULL);
	ct_fill(buf, PART, 99, (uint64_t)rank * PART);
	d_iov_set(&iov, buf, PART);
	sgl.sg_nr     = 1;
	sgl.sg_nr_out = 0;
	sgl.sg_iovs   = &iov;
	CHECK_DFS(dfs_write(x.dfs, x.file, &sgl, (daos_off_t)rank * PART, NULL));
	MPI_Barrier(MPI_COMM_WORLD);

	/* everyone reads the whole file */
	CHECK_DFS(dfs_get_size(x.dfs, x.file, &size));
	CHECKF(size == (daos_size_t)PART * (daos_size_t)nranks, "size %llu",
	       (unsigned long long)size);
	memset(buf, 0, (size_t)PART * (size_t)nranks);
	d_iov_set(&iov, buf, (size_t)PART * (size_t)nranks);
	rs = 0;
	CHECK_DFS(dfs_read(x.dfs, x.file, &sgl, 0, &rs, NULL));
	CHECK(rs == size);
	for (r = 0; r < nranks; r++) {
		bad = ct_verify(buf + (size_t)r * PART, PART, 99, (uint64_t)r * PART);
		CHECKF(bad < 0, "byte %ld of rank %d's part differs", bad, r);
	}
	MPI_Barrier(MPI_COMM_WORLD);

	/* importers close their handles first, then rank 0 (the owner) cleans up */
	CHECK_DFS(dfs_release(x.file));
	if (rank != 0) {
		CHECK_DFS(dfs_umount(x.dfs));
		CHECK_OK(daos_cont_close(x.coh, NULL));
		CHECK_OK(daos_pool_disconnect(x.poh, NULL));
	}
	MPI_Barrier(MPI_COMM_WORLD);
	if (rank == 0) {
		CHECK_DFS(dfs_remove(x.dfs, NULL, name, false, NULL));
		CHECK_DFS(dfs_umount(x.dfs));
		CHECK_OK(daos_cont_close(x.coh, NULL));
		CHECK_OK(daos_pool_disconnect(x.poh, NULL));
	}
	CHECK_OK(daos_fini());
	free(buf);
	free(gpool.iov_buf);
	free(gcont.iov_buf);
	free(gdfs.iov_buf);
	free(gfile.iov_buf);
	if (rank == 0)
		printf("mpi_shared: %d ranks wrote and read back %d MiB\n", nranks, nranks);
	MPI_Finalize();
	return 0;
}
