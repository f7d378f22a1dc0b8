/** Disk headroom rows: free space on each watched disk (lib/disk/headroom.ts), against the thresholds. */
import type { Config } from '../../lib/config/index.ts';
import { formatBytes, measureHeadroom } from '../../lib/disk/headroom.ts';
import type { Row } from './model.ts';

export async function diskRows(config: Config): Promise<Row[]> {
  const headroom = await measureHeadroom(config);
  return headroom.map((h) => {
    const text = `${formatBytes(h.freeBytes)} free of ${formatBytes(h.totalBytes)} (${h.label}: ${h.path})`;
    const facts = { path: h.path, freeBytes: h.freeBytes, totalBytes: h.totalBytes, stopFreeMb: config.DISK_STOP_FREE_MB };
    const name = `disk ${h.label.toLowerCase()}`;
    if (h.level === 'ok') return { name, level: 'ok', text, facts };
    return {
      name,
      level: h.level === 'stop' ? 'fail' : 'warn',
      text:
        h.level === 'stop'
          ? `${text}: under DISK_STOP_FREE_MB=${config.DISK_STOP_FREE_MB}, ingestors and scheduler stop`
          : `${text}: under DISK_WARN_FREE_MB=${config.DISK_WARN_FREE_MB}`,
      fix: 'free space on that disk (archive and drop old raw data, lower KAFKA_LOCAL_RETENTION_MB: docs/operations.md#disk-space) or move SHOPFLOW_DATA_DIR to a larger disk',
      facts,
    };
  });
}
