/**
 * The alert that replaces the daily report when the data quality gate fails: it lists every
 * failing expectation, and goes to ALERT_TO exactly once per business date.
 */
import type { Config } from '../lib/config/index.ts';
import { sendAlert, type AlertOptions } from '../lib/mail/alert.ts';
import type { DeliveryResult } from '../lib/mail/deliver.ts';
import type { GateSummary } from '../great_expectations/summary.ts';
import { escapeHtml as e, formatCountOf } from './format.ts';

export interface GateAlert {
  key: string;
  subject: string;
  text: string;
  html: string;
}

export function renderGateAlert(businessDate: string, gates: readonly GateSummary[], dataDate?: string | null): GateAlert {
  const failed = gates.filter((g) => !g.success);
  const count = failed.reduce((sum, g) => sum + g.failed, 0);
  const datesDiffer = dataDate !== undefined && dataDate !== businessDate;
  const dates = datesDiffer ? ` (data up to ${dataDate ?? 'none'})` : '';
  const subject = `[ShopFlow] Data quality gate FAILED for ${businessDate}${dates}: ${formatCountOf(count, 'expectation')} failed, report withheld`;
  const datesLine = datesDiffer
    ? `The report is for business date ${businessDate}; the gate checked the data as loaded, whose latest day with orders is ${dataDate ?? '(none)'}.`
    : undefined;
  const textLines = [
    `The data quality gate failed for business date ${businessDate}, so the daily report was NOT sent.`,
    ...(datesLine ? [datesLine] : []),
    '',
    ...gates.flatMap((g) => [
      `Gate ${g.gate}: ${g.success ? 'passed' : 'FAILED'} (${g.failed} of ${formatCountOf(g.evaluated, 'expectation')} failed)`,
      ...g.failures.map((f) => `  - ${f.suite}: ${f.expectation}${f.column ? ` [column ${f.column}]` : ''}\n      ${f.details}`),
      `  summary: ${g.summaryPath}`,
      ...(g.dataDocsPath ? [`  data docs: ${g.dataDocsPath}`] : []),
      '',
    ]),
    'Fix the data (or the expectation), re-run `npm run gate`, then `npm run report -- --date ' + businessDate + '`.',
  ];
  const items = gates
    .map(
      (
        g,
      ) => `<h3 style="margin:16px 0 4px 0;font-size:15px;">Gate ${e(g.gate)}: ${g.success ? '<span style="color:#047857;">passed</span>' : '<span style="color:#b91c1c;">FAILED</span>'} (${e(g.failed)} of ${e(g.evaluated)} failed)</h3>
<ul style="margin:0 0 0 18px;padding:0;">${g.failures
        .map(
          (f) =>
            `<li style="margin:0 0 6px 0;"><strong>${e(f.suite)}</strong>: ${e(f.expectation)}${f.column ? ` <em>[${e(f.column)}]</em>` : ''}<br /><span style="color:#6b7785;font-size:12px;">${e(f.details)}</span></li>`,
        )
        .join('')}</ul>
<p style="margin:4px 0;font-size:12px;color:#6b7785;">Summary: ${e(g.summaryPath)}</p>`,
    )
    .join('\n');
  const html = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8" /><meta name="viewport" content="width=device-width, initial-scale=1" /><title>${e(subject)}</title></head>
<body style="margin:0;padding:16px;font-family:Helvetica,Arial,sans-serif;color:#1f2933;">
<div style="max-width:640px;margin:0 auto;">
<h2 style="margin:0 0 8px 0;font-size:18px;color:#b91c1c;">Data quality gate failed — ${e(businessDate)}</h2>
<p style="margin:0 0 8px 0;font-size:14px;">The daily report was <strong>not sent</strong>. These expectations failed:</p>${datesLine ? `\n<p style="margin:0 0 8px 0;font-size:13px;">${e(datesLine)}</p>` : ''}
${items}
<p style="margin:16px 0 0 0;font-size:13px;">Fix the data (or the expectation), re-run <code>npm run gate</code>, then <code>npm run report -- --date ${e(businessDate)}</code>.</p>
</div></body></html>
`;
  return { key: `gate-failed:${businessDate}`, subject, text: `${textLines.join('\n')}\n`, html };
}

export async function sendGateFailureAlert(
  config: Config,
  input: { businessDate: string; gates: readonly GateSummary[]; dataDate?: string | null },
  options: AlertOptions = {},
): Promise<DeliveryResult> {
  const alert = renderGateAlert(input.businessDate, input.gates, input.dataDate);
  return sendAlert(
    config,
    {
      key: alert.key,
      kind: 'gate_failed',
      subject: alert.subject,
      text: alert.text,
      html: alert.html,
      details: {
        businessDate: input.businessDate,
        dataDate: input.dataDate ?? null,
        gates: input.gates.map((g) => ({ gate: g.gate, success: g.success, failed: g.failed, failures: g.failures })),
      },
    },
    options,
  );
}
