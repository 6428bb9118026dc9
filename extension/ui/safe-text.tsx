/**
 * Another party's text on Semper's pages (core/text.ts has the rules): each piece is isolated
 * (`<bdi>`), so its direction cannot move what stands next to it; bidi controls and other
 * invisible characters are shown as visible escapes instead of being laid out; a name that mixes
 * scripts (or imitates Latin letters) has the foreign letters marked and a warning.
 */
import { escapeLabel, nameParts, textParts, type NamePart, type NameScripts } from '../../core/text.js';
import { t } from './i18n.js';

function Escape({ part }: { part: { code: string; count: number } }) {
  return (
    <span class="text-escape" title={t('textEscapeTitle', part.code)}>
      {escapeLabel(part)}
    </span>
  );
}

/** Text another party wrote. `multiline` keeps its newlines (terms, contract text). */
export function SafeText({ text, multiline = false, id, class: className }: { text: string; multiline?: boolean; id?: string; class?: string }) {
  return (
    <bdi id={id} class={className ? `safe-text ${className}` : 'safe-text'}>
      {textParts(text, { multiline }).map((p) => (p.kind === 'text' ? p.text : <Escape part={p} />))}
    </bdi>
  );
}

/** The script names as shown (the UI language's names would need CLDR data; the Unicode names are unambiguous). */
function scriptList(flagged: NameScripts): string {
  return flagged.scripts.join(', ');
}

function NamePiece({ part }: { part: NamePart }) {
  if (part.kind === 'text') return <>{part.text}</>;
  if (part.kind === 'escape') return <Escape part={part} />;
  return (
    <mark class="foreign-script" data-script={part.script} title={t('nameForeignLetter', part.script, part.code)}>
      {part.text}
      <span class="foreign-script-label" aria-hidden="true">
        {part.script}
      </span>
    </mark>
  );
}

/**
 * A certified name (merchant, TTP): foreign letters marked and, if the name is flagged, a flag
 * after it (`flagFirst`: before it, where the name may be cut short). The warning is NameWarning.
 */
export function CertifiedName({ name, id, class: className, flagFirst = false }: { name: string; id?: string; class?: string; flagFirst?: boolean }) {
  const { parts, flagged } = nameParts(name);
  const flag = flagged ? (
    <span class="name-flag" title={t('nameFlag')}>
      {'⚠ '}
      {t('nameFlag')}
    </span>
  ) : null;
  return (
    <span id={id} class={className}>
      {flagFirst ? flag : null}
      <bdi class="safe-text name-text">
        {parts.map((p) => (
          <NamePiece part={p} />
        ))}
      </bdi>
      {flagFirst ? null : flag}
    </span>
  );
}

/** The warning for a flagged name (none for an ordinary one). */
export function NameWarning({ name, id }: { name: string; id?: string }) {
  const { flagged } = nameParts(name);
  if (!flagged) return null;
  return (
    <p class="name-warning" role="alert" id={id}>
      {flagged.mixed ? t('nameMixedScripts', scriptList(flagged)) : t('nameLookalike', scriptList(flagged))}
    </p>
  );
}
