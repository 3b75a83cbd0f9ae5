import type { IResolvable, IResolveContext } from 'cdktf';
import { IConstruct } from 'constructs';
import { terraformLib, TerraformLib } from './terraform-lib';

/**
 * A value produced at synth, like cdktf's `Lazy`, without the stack trace `Lazy` captures
 * when it is created (a fleet creates several per host, and capturing one costs far more
 * than the token itself). cdktf resolves any object with `resolve`; `creationStack` is
 * only read for error messages.
 */
class ProducedValue implements IResolvable {
  public readonly creationStack: string[] = [];

  public constructor(private readonly lib: TerraformLib, private readonly produce: (context: IResolveContext) => unknown) {}

  public resolve(context: IResolveContext): unknown {
    return this.produce(context);
  }

  public toString(): string {
    return this.lib.Token.asString(this);
  }

  public toJSON(): string {
    return '<unresolved-lazy>';
  }
}

/** A string token whose value `produce` gives at synth (`Lazy.stringValue`, without a stack trace). */
export function lazyString(scope: IConstruct, produce: (context: IResolveContext) => string): string {
  const lib = terraformLib(scope);
  return lib.Token.asString(new ProducedValue(lib, produce));
}

/** A token whose value `produce` gives at synth (`Lazy.anyValue`, without a stack trace). */
export function lazyAny(scope: IConstruct, produce: (context: IResolveContext) => unknown): IResolvable {
  return new ProducedValue(terraformLib(scope), produce);
}

/**
 * Adds a warning annotation to `scope`, as `Annotations.of(scope).addWarning` does, without
 * its stack trace (cdktf puts it in manifest.json; it names this library's functions, not
 * the user's code, and costs more than the rest of the host's validation).
 */
export function addWarning(scope: IConstruct, message: string): void {
  scope.node.addMetadata(terraformLib(scope).AnnotationMetadataEntryType.WARN, message, { stackTrace: false });
}

/** Adds an error annotation to `scope` (`Annotations.of(scope).addError`, without a stack trace). */
export function addError(scope: IConstruct, message: string): void {
  scope.node.addMetadata(terraformLib(scope).AnnotationMetadataEntryType.ERROR, message, { stackTrace: false });
}
