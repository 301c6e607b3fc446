/**
 * The sidebar icon: a stack of disks (a dataset) with a check badge (already
 * there, reuse it). Inline SVG so it themes with Lab's `jp-icon*` classes.
 */
import { LabIcon } from '@jupyterlab/ui-components';

const svgstr = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <ellipse cx="10" cy="4.5" rx="7.5" ry="2.5"/>
    <path d="M2.5 7.2v2.6c0 1.4 3.4 2.5 7.5 2.5s7.5-1.1 7.5-2.5V7.2c0 1.4-3.4 2.5-7.5 2.5S2.5 8.6 2.5 7.2z"/>
    <path d="M2.5 12.4V15c0 1.4 3.4 2.5 7.5 2.5.4 0 .8 0 1.1-.1a7 7 0 0 1 1.6-3.3c-.9.1-1.8.2-2.7.2-4.1 0-7.5-1.1-7.5-2.5z"/>
    <path d="M2.5 17.6v2.6c0 1.4 3.4 2.5 7.5 2.5.7 0 1.3 0 1.9-.1a7 7 0 0 1-.8-2.5c-.4 0-.7.1-1.1.1-4.1 0-7.5-1.1-7.5-2.6z"/>
  </g>
  <circle class="jp-icon-brand0" fill="#1976d2" cx="17.5" cy="17.5" r="5.5"/>
  <path class="jp-icon-accent0" stroke="#fff" style="fill:none" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" d="M15 17.6l1.8 1.8 3.4-3.6"/>
</svg>`;

export const datasetsIcon = new LabIcon({ name: 'ddas:datasets', svgstr });
