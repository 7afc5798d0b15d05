import type { ReactNode } from 'react';
import Table, { TableBody, TableCell, TableHead, TableHeadCell, TableRow, type BreakpointConfig } from '@helsenorge/designsystem-react/components/Table';

// Below the md breakpoint every row becomes a block of labelled cells instead of overflowing the page.
const PHONE_BLOCKS: BreakpointConfig = { breakpoint: 'md', variant: 'block' };

/**
 * A read-only table in the design system's Table; each cell carries its column name, so on a
 * phone-sized screen the table collapses to labelled blocks.
 */
export function DataTable(props: { caption: string; columns: string[]; rows: { key: string; cells: ReactNode[]; testId?: string }[]; testId?: string }) {
  return (
    // A block of its own: on a phone the table's boxes dissolve into it (display: contents) and must not join a flex parent.
    <div className="sh-table-wrap">
    <Table testId={props.testId} aria-label={props.caption} breakpointConfig={PHONE_BLOCKS}>
      <TableHead>
        <TableRow>
          {props.columns.map((c) => (
            <TableHeadCell key={c} scope="col">
              {c}
            </TableHeadCell>
          ))}
        </TableRow>
      </TableHead>
      <TableBody>
        {props.rows.map((r) => (
          <TableRow key={r.key} data-testid={r.testId}>
            {r.cells.map((cell, i) => (
              <TableCell key={i} dataLabel={props.columns[i]}>
                {cell}
              </TableCell>
            ))}
          </TableRow>
        ))}
      </TableBody>
    </Table>
    </div>
  );
}
