package ckpt.engine.cuda;

/**
 * Grid and block sizes of one kernel launch. Both kernels loop grid-stride, so a grid is capped (at the hardware's
 * 65535 in y, and at a few waves of blocks in x) rather than sized to cover every element once.
 */
record LaunchGeometry(int gridX, int gridY, int blockX, int blockY) {
    static final int ELEMENTWISE_BLOCK = 256;
    /** casts.h/ckpt_kernels.cu: TILE x ROWS_PER_PASS threads per transpose block. */
    static final int TILE = 32, ROWS_PER_PASS = 8;
    static final int MAX_GRID = 65535;

    LaunchGeometry {
        if (gridX < 1 || gridY < 1 || gridX > MAX_GRID || gridY > MAX_GRID) throw new IllegalArgumentException("grid " + gridX + "x" + gridY);
    }

    /** {@code ckpt_convert} over {@code n} elements; {@code maxBlocks} caps the grid (e.g. 32 per multiprocessor). */
    static LaunchGeometry elementwise(long n, int maxBlocks) {
        long blocks = Math.ceilDiv(Math.max(n, 1), ELEMENTWISE_BLOCK);
        return new LaunchGeometry((int) Math.min(blocks, Math.min(maxBlocks, MAX_GRID)), 1, ELEMENTWISE_BLOCK, 1);
    }

    /** {@code ckpt_transpose} of a {@code [rows, cols]} matrix: one block per 32 x 32 tile, up to the grid limits. */
    static LaunchGeometry transpose(long rows, long cols) {
        long tilesX = Math.ceilDiv(Math.max(cols, 1), TILE), tilesY = Math.ceilDiv(Math.max(rows, 1), TILE);
        return new LaunchGeometry((int) Math.min(tilesX, MAX_GRID), (int) Math.min(tilesY, MAX_GRID), TILE, ROWS_PER_PASS);
    }
}
