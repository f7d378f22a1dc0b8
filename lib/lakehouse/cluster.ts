/**
 * What the Spark master says about the lake jobs' applications: RUNNING (executors granted) or
 * WAITING (no free core: the job's driver lives but lands nothing), and the cores each holds.
 * Read from the standalone master's JSON (its web UI's /json/), which every standalone master
 * serves; other cluster managers (YARN, Kubernetes) answer nothing here.
 */
export interface SparkApplication {
  id: string;
  name: string;
  state: string;
  cores: number;
}

interface MasterJson {
  activeapps?: { id: string; name: string; state: string; cores: number }[];
}

/** The master UI's address for a `spark://host:port` master (its UI on `uiPort`, 8080 by default). */
export function masterUiUrl(master: string, uiPort: number): string | undefined {
  const match = /^spark:\/\/([^:]+):\d+$/.exec(master);
  return match ? `http://${match[1]}:${uiPort}/json/` : undefined;
}

/** Active applications by name, or undefined when the master's JSON cannot be read. */
export async function sparkApplications(master: string, uiPort = 8080, timeoutMs = 2000): Promise<SparkApplication[] | undefined> {
  const url = masterUiUrl(master, uiPort);
  if (!url) return undefined;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return undefined;
    const body = (await response.json()) as MasterJson;
    return (body.activeapps ?? []).map((a) => ({ id: a.id, name: a.name, state: a.state, cores: a.cores }));
  } catch {
    return undefined;
  }
}
