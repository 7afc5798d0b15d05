import type { ReactNode } from 'react';
import Table, { TableBody, TableCell, TableHead, TableHeadCell, TableRow } from '@helsenorge/designsystem-react/components/Table';

/**
 * A read-only table in the design system's Table; each cell carries its column name, so on a
 * phone-sized screen the table collapses to labelled blocks.
 */
export function DataTable(props: { caption: string; columns: string[]; rows: { key: string; cells: ReactNode[]; testId?: string }[]; testId?: string }) {
  return (
    <Table testId={props.testId} aria-label={props.caption}>
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
  );
}
